-- wrk: POST /login with a JSON body, each request from its own address
-- (the service trusts 127.0.0.1 as a proxy), so the per-address limit
-- does not turn the run into a 429 benchmark.
local n = 0
local body = os.getenv("LOGIN_BODY")
request = function()
  n = n + 1
  local ip = string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip}, body)
end
