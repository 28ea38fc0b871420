-- A different bearer token on every request, cycling through a file of tokens (one a line)
-- named by the script's first argument, plus the report's done():
--   wrk -t1 -s bench/lua/tokens.lua URL -- TOKEN_FILE [POSITION_FILE]
-- With a position file, a run starts where the last run that used it stopped (the file holds
-- the next token's index), so runs split into segments go on through the file instead of
-- sending its first tokens again, which the API's claims cache may still hold.
dofile(debug.getinfo(1, "S").source:match("^@(.*)/") .. "/done.lua")

local threads = {}
local report = done
local tokens = {}
local count = 0
position_file = nil  -- global too, for done()
next_index = 0  -- global: done() reads it from the thread

setup = function(thread)
  table.insert(threads, thread)
end

init = function(args)
  local path = args[1]
  if not path then error("usage: wrk -s tokens.lua URL -- TOKEN_FILE [POSITION_FILE]") end
  for line in io.lines(path) do
    if #line > 0 then count = count + 1; tokens[count] = line end
  end
  if count == 0 then error("no tokens in " .. path) end
  position_file = args[2]
  local f = position_file and io.open(position_file, "r")
  if f then next_index = (tonumber(f:read("*l")) or 0) % count; f:close() end
end

request = function()
  next_index = next_index % count + 1
  -- method and path from the URL; only the token changes
  return wrk.format(nil, nil, {["Authorization"] = "Bearer " .. tokens[next_index]})
end

done = function(summary, latency, requests)
  report(summary, latency, requests)
  local path = threads[1] and threads[1]:get("position_file")
  if path then
    local f = assert(io.open(path, "w"))
    f:write(string.format("%d\n", threads[1]:get("next_index")))
    f:close()
  end
end
