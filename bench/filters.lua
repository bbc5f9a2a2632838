-- An htmx filter change: each request asks the agenda fragment for another kind and province,
-- as a visitor clicking through the filters does (24 combinations, each kept once in memory).
local kinds = {"", "vorming", "werkbezoek", "intervisie"}
local provinces = {"", "Antwerpen", "Limburg", "Oost-Vlaanderen", "Vlaams-Brabant", "West-Vlaanderen"}
local counter = 0

request = function()
  counter = counter + 1
  local kind = kinds[counter % #kinds + 1]
  local province = provinces[math.floor(counter / #kinds) % #provinces + 1]
  local path = "/?soort=" .. kind .. "&thema=&provincie=" .. province .. "&maand="
  return wrk.format("GET", path, {["HX-Request"] = "true", ["HX-Current-URL"] = "/"})
end
