-- A different bearer token on every request, cycling through a file of tokens (one a line)
-- named by the script's first argument, plus the report's done():
--   wrk -s bench/lua/tokens.lua URL -- TOKEN_FILE
dofile(debug.getinfo(1, "S").source:match("^@(.*)/") .. "/done.lua")

local tokens = {}
local count, next_index = 0, 0

init = function(args)
  local path = args[1]
  if not path then error("usage: wrk -s tokens.lua URL -- TOKEN_FILE") end
  for line in io.lines(path) do
    if #line > 0 then count = count + 1; tokens[count] = line end
  end
  if count == 0 then error("no tokens in " .. path) end
end

request = function()
  next_index = next_index % count + 1
  -- method and path from the URL; only the token changes
  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. tokens[next_index]})
end
