-- booktools preview filter: the few Quarto features the book uses, for plain pandoc.
-- Callouts, instructor-only blocks, numbered figures/tables/equations, and
-- cross-references (@fig-x, @tbl-x, @sec-x, @eq-x). Runs before --citeproc so
-- cross-references are not mistaken for citations.

local instructor = false
local labels = {}          -- id -> {text = "Figure 1", href = "#fig-x"}
local counts = {fig = 0, tbl = 0, eq = 0}
local kinds = {fig = "Figure", tbl = "Table", eq = "Equation"}
local callout_names = {note = "Note", tip = "Tip", warning = "Warning",
                       important = "Important", caution = "Caution"}

local function prefix(id)
  return id and id:match("^(%a+)%-")
end

local function profile_visible(div)
  local when, unless = div.attributes["when-profile"], div.attributes["unless-profile"]
  local shown = true
  if div.classes:includes("content-visible") then
    if when then shown = (when == "instructor") == instructor end
    if unless then shown = not ((unless == "instructor") == instructor) end
  elseif div.classes:includes("content-hidden") then
    if when then shown = not ((when == "instructor") == instructor) end
    if unless then shown = (unless == "instructor") == instructor end
  end
  return shown
end

local function callout(div)
  local kind
  for _, c in ipairs(div.classes) do
    local k = c:match("^callout%-(%a+)$")
    if k then kind = k end
  end
  if not kind then return nil end
  local title = div.attributes["title"] and pandoc.read(div.attributes["title"], "markdown").blocks
  local body = div.content
  if not title and body[1] and body[1].t == "Header" then
    title = {pandoc.Plain(body[1].content)}
    body = pandoc.List({table.unpack(body, 2)})
  end
  title = title or {pandoc.Plain({pandoc.Str(callout_names[kind] or kind)})}
  return pandoc.Div({
    pandoc.Div(title, pandoc.Attr("", {"callout-title"})),
    pandoc.Div(body, pandoc.Attr("", {"callout-body"})),
  }, pandoc.Attr(div.identifier, {"callout", "callout-" .. kind}))
end

local function caption_prefix(kind, n)
  return {pandoc.Strong({pandoc.Str(kinds[kind] .. " " .. n .. ":")}), pandoc.Space()}
end

-- pass 1: profiles, callouts, numbering ----------------------------------------
local number = {
  Meta = function(meta)
    instructor = meta["booktools-instructor"] == true
  end,

  Div = function(div)
    if not profile_visible(div) then return {} end
    if div.classes:includes("content-visible") and instructor then
      div.classes:insert("instructor-only")
    end
    local kind = prefix(div.identifier)
    if kind == "fig" or kind == "tbl" then
      counts[kind] = counts[kind] + 1
      local n = counts[kind]
      labels[div.identifier] = {text = kinds[kind] .. " " .. n, href = "#" .. div.identifier}
      div.classes:insert(kind == "fig" and "figure" or "table-float")
      for _, block in ipairs(div.content) do
        if block.t == "Div" and block.classes:includes("booktools-caption") then
          local first = block.content[1]
          if first and (first.t == "Para" or first.t == "Plain") then
            first.content = caption_prefix(kind, n) .. first.content
          end
        end
      end
      return div
    end
    return callout(div)
  end,

  Figure = function(fig)
    if prefix(fig.identifier) == "fig" then
      counts.fig = counts.fig + 1
      labels[fig.identifier] = {text = "Figure " .. counts.fig, href = "#" .. fig.identifier}
      local long = fig.caption.long
      if long[1] and (long[1].t == "Plain" or long[1].t == "Para") then
        long[1].content = caption_prefix("fig", counts.fig) .. long[1].content
      end
      return fig
    end
  end,

  Span = function(span)
    if prefix(span.identifier) == "eq" then
      counts.eq = counts.eq + 1
      labels[span.identifier] = {text = "Equation " .. counts.eq, href = "#" .. span.identifier}
      span.classes:insert("equation")
      span.content:insert(pandoc.Span({pandoc.Str("(" .. counts.eq .. ")")},
                                      pandoc.Attr("", {"equation-number"})))
      return span
    end
  end,

  Header = function(h)
    if prefix(h.identifier) == "sec" then
      labels[h.identifier] = {text = pandoc.utils.stringify(h.content), href = "#" .. h.identifier}
    end
  end,
}

-- pass 2: cross-references -----------------------------------------------------
local resolve = {
  Cite = function(cite)
    local out = pandoc.List()
    for i, c in ipairs(cite.citations) do
      local kind = prefix(c.id)
      if not (kind == "fig" or kind == "tbl" or kind == "sec" or kind == "eq" or kind == "lst") then
        return nil   -- a real citation: leave it to citeproc
      end
      local target = labels[c.id]
      if i > 1 then out:insert(pandoc.Str("; ")) end
      if target then
        local text = target.text
        if kind == "sec" then text = "Section “" .. text .. "”" end
        out:insert(pandoc.Link({pandoc.Str(text)}, target.href, "", pandoc.Attr("", {"xref"})))
      else
        out:insert(pandoc.Strong({pandoc.Str("?@" .. c.id)}))
      end
    end
    return out
  end,
}

local function load_external(meta)
  -- labels defined in other chapters: {id: {text, href}} from booktools
  local ext = meta["booktools-xref"]
  if ext then
    for id, v in pairs(ext) do
      if not labels[id] then
        labels[id] = {text = pandoc.utils.stringify(v.text), href = pandoc.utils.stringify(v.href)}
      end
    end
  end
end

-- links to other chapters' sources (x.qmd, ../index.qmd#sec-a) -> their pages (flat: x.html)
local links = {
  Link = function(link)
    local target = link.target
    if target:match("^%a[%w+.-]*:") then return nil end
    local file, anchor = target:match("^([^#]*)(#?.*)$")
    if file:match("%.qmd$") then
      link.target = file:gsub("^.*/", ""):gsub("%.qmd$", ".html") .. anchor
      return link
    end
  end,
}

function Pandoc(doc)
  instructor = doc.meta["booktools-instructor"] == true
  doc = doc:walk(number)
  load_external(doc.meta)
  return doc:walk(resolve):walk(links)
end
