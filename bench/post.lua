-- wrk script: POST the JSON body read from the file named by $BENCH_BODY.
-- Bodies live in bench/bodies/ so run.sh's correctness check sends exactly
-- the bytes that the load run sends.
local path = os.getenv("BENCH_BODY")
if not path then
  error("set BENCH_BODY to a JSON body file")
end
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = f:read("*a")
f:close()
