-- Small helpers for tables.
local M = {}

function M.map(t, f)
  local out = {}
  for i, v in ipairs(t) do
    out[i] = f(v)
  end
  return out
end

function M.sum(t)
  local total = 0
  for _, v in ipairs(t) do
    total = total + v
  end
  return total
end

return M
