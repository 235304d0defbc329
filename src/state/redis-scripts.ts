/**
 * The Redis store's Lua scripts. Each runs atomically in Redis (no other
 * command runs in between), which is what makes a commit all or nothing.
 * ARGV[1] is always the topology's key prefix T; every key starts with it,
 * and T holds a hash tag ({topology}), so they share one cluster slot.
 *
 * Keys, under T:
 *   latest, lasttoken     the newest checkpoint id; the token of the writer that committed it
 *   ids (zset)            the completed checkpoints kept; meta (hash) their metadata
 *   comps (set)           components with state; kgs:<c> (set) their key groups
 *   k:<c>:<kg> (hash)     live keyed state: key -> value, as of `latest`
 *   u:<id>:<c>:<kg>       undo log of checkpoint id: each key it changed, as it was
 *                         before ('P' .. value, or 'D': absent); ul:<id> (set)
 *                         names them; uids (zset) the ids that have one
 *   ov:<c> (zset), o:<id>:<c> (hash)   operator state versions: task -> value
 *   s:<token>:<c>:<kg>, so:<token>:<c>  a writer's staged delta ('P' .. value, or 'D';
 *                         a full checkpoint's: plain values, renamed into place)
 *
 * The live hashes hold the newest checkpoint; an older kept checkpoint is
 * the live state with the undo logs of the checkpoints after it applied,
 * newest first. Undo logs are kept for every kept checkpoint but the oldest.
 */

/** Apply checkpoint u's undo log to the live hashes and delete it. */
const UNDO = `
local function undo_checkpoint(T, u)
  local ul = T .. ':ul:' .. u
  local prefix = string.len(T .. ':u:' .. u .. ':')
  for _, uk in ipairs(redis.call('SMEMBERS', ul)) do
    local live = T .. ':k:' .. string.sub(uk, prefix + 1)
    local flat = redis.call('HGETALL', uk)
    for x = 1, #flat, 2 do
      local v = flat[x + 1]
      if string.byte(v, 1) == 80 then
        redis.call('HSET', live, flat[x], string.sub(v, 2))
      else
        redis.call('HDEL', live, flat[x])
      end
    end
    redis.call('DEL', uk)
  end
  redis.call('DEL', ul)
  redis.call('ZREM', T .. ':uids', u)
end

local function drop_undo(T, u)
  local ul = T .. ':ul:' .. u
  for _, uk in ipairs(redis.call('SMEMBERS', ul)) do redis.call('DEL', uk) end
  redis.call('DEL', ul)
  redis.call('ZREM', T .. ':uids', u)
end
`;

/**
 * Commit. KEYS[1] = T:latest. ARGV: T, base ('' = none: a full checkpoint),
 * expected ('' = none), id, metadata, retain, token, then the number of
 * staged keyed hashes and (component, key group, entries) for each, then
 * the number of staged operator hashes and (component, entries) for each.
 * Returns the ids kept, oldest first.
 */
export const COMMIT = `${UNDO}
local T, base, expected, id, meta = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local nid = tonumber(id)
local retain = tonumber(ARGV[6])
local token = ARGV[7]
local latest = redis.call('GET', T .. ':latest') or ''
if latest ~= expected then
  if latest == id and redis.call('GET', T .. ':lasttoken') == token then
    return redis.call('ZRANGE', T .. ':ids', 0, -1)   -- this very commit, sent again
  end
  return redis.error_reply('SQUALL_FENCED ' .. latest)
end
if latest ~= '' and nid <= tonumber(latest) then return redis.error_reply('SQUALL_OLD ' .. latest) end
if base ~= '' and not redis.call('ZSCORE', T .. ':ids', base) then return redis.error_reply('SQUALL_NOBASE ' .. base) end

-- Everything staged must be there, whole, before anything changes.
local i = 8
local nk = tonumber(ARGV[i]); i = i + 1
local keyed = {}
for j = 1, nk do
  local c, kg, count = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]); i = i + 3
  local sk = T .. ':s:' .. token .. ':' .. c .. ':' .. kg
  if redis.call('HLEN', sk) ~= count then return redis.error_reply('SQUALL_STAGE ' .. sk) end
  keyed[j] = { c, kg, sk }
end
local no = tonumber(ARGV[i]); i = i + 1
local ops = {}
for j = 1, no do
  local c, count = ARGV[i], tonumber(ARGV[i + 1]); i = i + 2
  local sk = T .. ':so:' .. token .. ':' .. c
  if redis.call('HLEN', sk) ~= count then return redis.error_reply('SQUALL_STAGE ' .. sk) end
  ops[j] = { c, sk }
end

-- Going on from an older checkpoint, or none: discard what came after it.
if latest ~= '' and base ~= latest then
  if base == '' then
    for _, c in ipairs(redis.call('SMEMBERS', T .. ':comps')) do
      for _, kg in ipairs(redis.call('SMEMBERS', T .. ':kgs:' .. c)) do redis.call('DEL', T .. ':k:' .. c .. ':' .. kg) end
      redis.call('DEL', T .. ':kgs:' .. c)
      for _, v in ipairs(redis.call('ZRANGE', T .. ':ov:' .. c, 0, -1)) do redis.call('DEL', T .. ':o:' .. v .. ':' .. c) end
      redis.call('DEL', T .. ':ov:' .. c)
    end
    redis.call('DEL', T .. ':comps')
    for _, u in ipairs(redis.call('ZRANGE', T .. ':uids', 0, -1)) do drop_undo(T, u) end
    redis.call('DEL', T .. ':ids', T .. ':meta')
  else
    local after = redis.call('ZRANGEBYSCORE', T .. ':ids', '(' .. base, '+inf')
    for x = #after, 1, -1 do
      local u = after[x]
      undo_checkpoint(T, u)
      redis.call('ZREM', T .. ':ids', u)
      redis.call('HDEL', T .. ':meta', u)
    end
    for _, c in ipairs(redis.call('SMEMBERS', T .. ':comps')) do
      for _, v in ipairs(redis.call('ZRANGEBYSCORE', T .. ':ov:' .. c, '(' .. base, '+inf')) do
        redis.call('DEL', T .. ':o:' .. v .. ':' .. c)
        redis.call('ZREM', T .. ':ov:' .. c, v)
      end
    end
  end
end

-- A full checkpoint's staged hashes hold plain values (no deletes): they become the live ones.
if base == '' then
  for _, spec in ipairs(keyed) do
    local c, kg, sk = spec[1], spec[2], spec[3]
    local live = T .. ':k:' .. c .. ':' .. kg
    redis.call('RENAME', sk, live)
    redis.call('PERSIST', live)
    redis.call('SADD', T .. ':kgs:' .. c, kg)
    redis.call('SADD', T .. ':comps', c)
  end
  keyed = {}
end

-- Apply the delta, keeping an undo log when an older checkpoint stays readable.
local record = base ~= '' and retain > 1
for _, spec in ipairs(keyed) do
  local c, kg, sk = spec[1], spec[2], spec[3]
  local live = T .. ':k:' .. c .. ':' .. kg
  local uk = T .. ':u:' .. id .. ':' .. c .. ':' .. kg
  local flat = redis.call('HGETALL', sk)
  for x = 1, #flat, 2 do
    local f, v = flat[x], flat[x + 1]
    if record then
      local old = redis.call('HGET', live, f)
      if old then redis.call('HSET', uk, f, 'P' .. old) else redis.call('HSET', uk, f, 'D') end
    end
    if string.byte(v, 1) == 80 then
      redis.call('HSET', live, f, string.sub(v, 2))
    else
      redis.call('HDEL', live, f)
    end
  end
  if record then redis.call('SADD', T .. ':ul:' .. id, uk) end
  redis.call('SADD', T .. ':kgs:' .. c, kg)
  redis.call('SADD', T .. ':comps', c)
  redis.call('DEL', sk)
end
if record and #keyed > 0 then redis.call('ZADD', T .. ':uids', nid, id) end
for _, spec in ipairs(ops) do
  local c, sk = spec[1], spec[2]
  redis.call('RENAME', sk, T .. ':o:' .. id .. ':' .. c)
  redis.call('PERSIST', T .. ':o:' .. id .. ':' .. c)
  redis.call('ZADD', T .. ':ov:' .. c, nid, id)
  redis.call('SADD', T .. ':comps', c)
end
redis.call('HSET', T .. ':meta', id, meta)
redis.call('ZADD', T .. ':ids', nid, id)
redis.call('SET', T .. ':latest', id)
redis.call('SET', T .. ':lasttoken', token)

-- Retention: keep the newest \`retain\`; undo logs only for those after the oldest.
local n = redis.call('ZCARD', T .. ':ids')
if n > retain then
  for _, g in ipairs(redis.call('ZRANGE', T .. ':ids', 0, n - retain - 1)) do
    redis.call('ZREM', T .. ':ids', g)
    redis.call('HDEL', T .. ':meta', g)
  end
end
local oldest = redis.call('ZRANGE', T .. ':ids', 0, 0)[1]
for _, u in ipairs(redis.call('ZRANGEBYSCORE', T .. ':uids', '-inf', oldest)) do drop_undo(T, u) end
for _, c in ipairs(redis.call('SMEMBERS', T .. ':comps')) do
  local keep = redis.call('ZREVRANGEBYSCORE', T .. ':ov:' .. c, oldest, '-inf', 'LIMIT', 0, 1)[1]
  if keep then
    for _, v in ipairs(redis.call('ZRANGEBYSCORE', T .. ':ov:' .. c, '-inf', '(' .. keep)) do
      redis.call('DEL', T .. ':o:' .. v .. ':' .. c)
      redis.call('ZREM', T .. ':ov:' .. c, v)
    end
  end
end
return redis.call('ZRANGE', T .. ':ids', 0, -1)
`;

/**
 * One key group as of checkpoint n: the live hash with the undo logs of
 * the checkpoints after n applied. KEYS[1] = T:ids. ARGV: T, component, key
 * group, n. Returns a flat key, value, key, value… list.
 */
export const READ_KEYED = `
local T, c, kg, n = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local ids = redis.call('ZRANGE', T .. ':ids', 0, -1)
local at = nil
for x = 1, #ids do if ids[x] == n then at = x end end
if not at then return redis.error_reply('SQUALL_NOCKPT') end
local live = T .. ':k:' .. c .. ':' .. kg
if at == #ids then return redis.call('HGETALL', live) end
local m = {}
local flat = redis.call('HGETALL', live)
for x = 1, #flat, 2 do m[flat[x]] = flat[x + 1] end
for y = #ids, at + 1, -1 do
  local u = redis.call('HGETALL', T .. ':u:' .. ids[y] .. ':' .. c .. ':' .. kg)
  for x = 1, #u, 2 do
    local v = u[x + 1]
    if string.byte(v, 1) == 80 then m[u[x]] = string.sub(v, 2) else m[u[x]] = nil end
  end
end
local out = {}
for k, v in pairs(m) do
  out[#out + 1] = k
  out[#out + 1] = v
end
return out
`;

/** Operator state of a component as of checkpoint n. KEYS[1] = T:ids. ARGV: T, component, n. */
export const READ_OPERATOR = `
local T, c, n = ARGV[1], ARGV[2], ARGV[3]
if not redis.call('ZSCORE', T .. ':ids', n) then return redis.error_reply('SQUALL_NOCKPT') end
local v = redis.call('ZREVRANGEBYSCORE', T .. ':ov:' .. c, n, '-inf', 'LIMIT', 0, 1)[1]
if not v then return {} end
return redis.call('HGETALL', T .. ':o:' .. v .. ':' .. c)
`;

/** The newest checkpoint and its metadata. KEYS[1] = T:latest. ARGV: T. */
export const LATEST = `
local T = ARGV[1]
local id = redis.call('GET', T .. ':latest')
if not id then return {} end
return { id, redis.call('HGET', T .. ':meta', id) }
`;

/** Remove a component's state from every kept checkpoint. KEYS[1] = T:comps. ARGV: T, component. */
export const DROP = `
local T, c = ARGV[1], ARGV[2]
for _, kg in ipairs(redis.call('SMEMBERS', T .. ':kgs:' .. c)) do redis.call('DEL', T .. ':k:' .. c .. ':' .. kg) end
redis.call('DEL', T .. ':kgs:' .. c)
for _, u in ipairs(redis.call('ZRANGE', T .. ':uids', 0, -1)) do
  local ul = T .. ':ul:' .. u
  local prefix = T .. ':u:' .. u .. ':' .. c .. ':'
  for _, uk in ipairs(redis.call('SMEMBERS', ul)) do
    if string.sub(uk, 1, string.len(prefix)) == prefix and string.match(string.sub(uk, string.len(prefix) + 1), '^%d+$') then
      redis.call('DEL', uk)
      redis.call('SREM', ul, uk)
    end
  end
end
for _, v in ipairs(redis.call('ZRANGE', T .. ':ov:' .. c, 0, -1)) do redis.call('DEL', T .. ':o:' .. v .. ':' .. c) end
redis.call('DEL', T .. ':ov:' .. c)
redis.call('SREM', T .. ':comps', c)
return 1
`;
