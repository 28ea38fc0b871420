-- wrk's own request (the URL, -H headers), plus the report's done().
-- Its siblings are found next to it: run it by a path with a directory (bench/lua/plain.lua).
dofile(debug.getinfo(1, "S").source:match("^@(.*)/") .. "/done.lua")
