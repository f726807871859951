-- wrk script: GET /api/v1/worklist, each request as the next nurse of the token file
-- (one access token per line, path in the TOKENS environment variable).
local tokens = {}
local next_token = 1

function init(args)
  for line in io.lines(os.getenv("TOKENS")) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  -- Threads start at different nurses.
  next_token = (math.random(#tokens))
end

function request()
  local token = tokens[next_token]
  next_token = next_token % #tokens + 1
  return wrk.format("GET", "/api/v1/worklist", { ["Authorization"] = "Bearer " .. token })
end

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("worklist answered " .. status .. "\n")
  end
end
