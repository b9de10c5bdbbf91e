-- Quarto filter of the instructor profile (_quarto-instructor.yml): every worked solution opens
-- with its exercise's kind, minutes, points and learning objective. The notes come from the
-- exercise registry through `python -m booktools exercise-notes` (the profile's pre-render
-- step), which writes <project>/_build/exercise-notes.json: {"<chapter>/<id>": "<markdown>"}.
-- A solution is the ::: {.content-visible when-profile="instructor"} block under the heading
-- `### Exercise N: ... {#sec-ex-<id>}` of chapter <chapter> (the file name). Without the JSON
-- file the filter does nothing. Runs under plain pandoc too (booktools tests it that way).

local function project_dir(input)
  if quarto and quarto.project and quarto.project.directory then
    return quarto.project.directory
  end
  local dir = pandoc.path.directory(input)
  for _ = 1, 10 do
    local f = io.open(dir .. "/_quarto.yml", "r")
    if f then f:close() return dir end
    dir = pandoc.path.directory(dir)
  end
  return nil
end

local function read_notes(dir)
  local f = dir and io.open(dir .. "/_build/exercise-notes.json", "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  local ok, notes = pcall(pandoc.json.decode, text)
  if ok and type(notes) == "table" then return notes end
  return nil
end

function Pandoc(doc)
  local input = (quarto and quarto.doc.input_file) or PANDOC_STATE.input_files[1]
  if not input then return nil end
  local notes = read_notes(project_dir(input))
  if not notes then return nil end
  local chapter = pandoc.path.split_extension(pandoc.path.filename(input))
  local current = nil
  return doc:walk {
    traverse = "topdown",
    Header = function(h)
      if h.level <= 3 then current = nil end
      if h.level == 3 and h.identifier:match("^sec%-ex%-") then
        current = chapter .. "/" .. h.identifier:sub(8)
      end
    end,
    Div = function(div)
      if current and notes[current] and div.classes:includes("content-visible")
          and div.attributes["when-profile"] == "instructor" then
        local note = pandoc.read(notes[current], "markdown").blocks
        for i = #note, 1, -1 do div.content:insert(1, note[i]) end
        div.classes:insert("exercise-noted")
        current = nil
        return div
      end
    end,
  }
end
