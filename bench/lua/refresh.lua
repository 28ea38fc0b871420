-- A refresh-token rotation per request: POST /oauth/token, grant_type=refresh_token, as the
-- public client named by the second argument, with the next token of a file (one a line, the
-- first argument), each token sent once: a second use would be reuse, which revokes the family
-- and answers 400. Out of tokens, the thread stops. Every status is counted.
--   wrk -t1 -s bench/lua/refresh.lua URL -- TOKEN_FILE CLIENT_ID
local here = debug.getinfo(1, "S").source:match("^@(.*)/")
dofile(here .. "/done.lua")
dofile(here .. "/statuses.lua")

local tokens = {}
local count, next_index, prefix = 0, 0, ""
local count_statuses = setup
local threads = 0

setup = function(thread)
  -- every thread reads the whole file: two would send each token twice
  threads = threads + 1
  if threads > 1 then error("refresh.lua runs on one thread (wrk -t1)") end
  count_statuses(thread)
end

init = function(args)
  local path, client_id = args[1], args[2]
  if not path or not client_id then
    error("usage: wrk -t1 -s refresh.lua URL -- TOKEN_FILE CLIENT_ID")
  end
  for line in io.lines(path) do
    if #line > 0 then count = count + 1; tokens[count] = line end
  end
  if count == 0 then error("no tokens in " .. path) end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  -- client ids and tokens are URL-safe base64: nothing to escape
  prefix = "grant_type=refresh_token&client_id=" .. client_id .. "&refresh_token="
end

request = function()
  next_index = next_index + 1
  if next_index > count then
    wrk.thread:stop()
    return wrk.format(nil, nil, nil, prefix .. "exhausted")  -- unknown: 400, nothing revoked
  end
  return wrk.format(nil, nil, nil, prefix .. tokens[next_index])
end
