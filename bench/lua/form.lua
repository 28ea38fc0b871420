-- A POST of one urlencoded form, the script's first argument, with wrk's -H headers (a client's
-- Authorization), every status counted:
--   wrk -s bench/lua/form.lua URL -- 'grant_type=client_credentials&scope=notes%3Aread'
local here = debug.getinfo(1, "S").source:match("^@(.*)/")
dofile(here .. "/done.lua")
dofile(here .. "/statuses.lua")

local request_text

init = function(args)
  if not args[1] then error("usage: wrk -s form.lua URL -- FORM_BODY") end
  wrk.method = "POST"
  wrk.body = args[1]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  request_text = wrk.format()
end

request = function()
  return request_text
end
