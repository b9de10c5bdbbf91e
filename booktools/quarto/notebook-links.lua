-- Quarto filter (listed under `filters:` in _quarto.yml): "Open in Colab" and "Download
-- notebook" links at the top of every chapter page that runs code. The links point at the
-- student notebook the book publishes at <site-url>notebooks/student/<chapter>.ipynb and, for
-- Colab, at the same file on the repository's gh-pages branch (from repo-url). Both addresses
-- come from _quarto.yml's book: section, the one place they are set. Runs under plain pandoc
-- too (booktools tests it that way).

local function read_config(dir)
  local f = io.open(dir .. "/_quarto.yml", "r")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return pandoc.read("---\n" .. text .. "\n---\n", "markdown").meta
end

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

local function has_code(doc)
  local found = false
  doc:walk({
    Div = function(div) if div.classes:includes("cell") then found = true end end,
    -- plain pandoc (no Quarto) reads an executable ```{python} fence as inline code
    Code = function(c) if c.text:match("^{python}") then found = true end end,
  })
  return found
end

function Pandoc(doc)
  if quarto and not quarto.doc.is_format("html") then return nil end
  local input = (quarto and quarto.doc.input_file) or PANDOC_STATE.input_files[1]
  if not input or not has_code(doc) then return nil end
  local stem = pandoc.path.split_extension(pandoc.path.filename(input))
  local dir = project_dir(input)
  local config = dir and read_config(dir)
  local book = config and config.book
  if not book or not book["site-url"] then return nil end
  -- appendices (the course map) are web pages built from the repository: no notebook edition
  for _, page in ipairs(book.appendices or {}) do
    local file = (type(page) == "table" and page.href) or page
    if file and pandoc.path.split_extension(pandoc.path.filename(pandoc.utils.stringify(file))) == stem then
      return nil
    end
  end
  local site = pandoc.utils.stringify(book["site-url"]):gsub("/*$", "/")
  local links = {string.format('<a class="notebook-link download" href="%snotebooks/student/%s.ipynb" download>Download notebook</a>', site, stem)}
  local repo = book["repo-url"] and pandoc.utils.stringify(book["repo-url"]) or ""
  local owner, name = repo:match("^https://github%.com/([^/]+)/([^/#?]+)")
  if owner then
    name = name:gsub("%.git$", "")
    table.insert(links, 1, string.format(
      '<a class="notebook-link colab" href="https://colab.research.google.com/github/%s/%s/blob/gh-pages/notebooks/student/%s.ipynb">Open in Colab</a>',
      owner, name, stem))
  end
  doc.blocks:insert(1, pandoc.RawBlock("html", '<div class="notebook-links">' .. table.concat(links, " ") .. "</div>"))
  return doc
end
