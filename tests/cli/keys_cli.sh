#!/usr/bin/env bash
# `switchboard keys create/list/revoke` end to end: the printed key has the documented shape,
# the printed hash is its SHA-256, the SQLite store keeps the hash and never the key, list never
# shows hashes, revocation sticks, and a key wider than its team is refused.
set -euo pipefail
bin="$1"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. Without a config: the key, its id and the YAML entry to paste.
out="$("$bin" keys create --owner alice --team eng --models gpt-4o --rpm 10 --metadata 'note=a "quoted" \\ value')"
key="$(sed -n 's/^key: //p' <<<"$out")"
hash="$(sed -n 's/^hash: //p' <<<"$out")"
id="$(sed -n 's/^id: //p' <<<"$out")"
[[ "$key" =~ ^sk-sb-[A-Za-z0-9_-]{43}$ ]] || fail "key shape: $key"
[[ "$hash" =~ ^[0-9a-f]{64}$ ]] || fail "hash shape: $hash"
[[ "$id" =~ ^key_[0-9a-f]{16}$ ]] || fail "id shape: $id"
[[ "$(printf '%s' "$key" | sha256sum | cut -d' ' -f1)" == "$hash" ]] || fail "hash is not sha256(key)"
grep -q "^    $id:$" <<<"$out" || fail "no YAML entry"
grep -q "requests_per_minute: 10" <<<"$out" || fail "no limits in YAML entry"
key2="$("$bin" keys create | sed -n 's/^key: //p')"
[[ "$key" != "$key2" ]] || fail "two keys are equal"

# 2. The printed YAML entry, pasted into a config, validates.
{
  echo "auth:"
  echo "  teams: {eng: {models: [\"gpt-*\"]}}"
  echo "  keys:"
  sed -n '/^# add under auth.keys/,$p' <<<"$out" | tail -n +2
} >"$dir/pasted.yaml"
"$bin" config validate "$dir/pasted.yaml" >/dev/null || fail "pasted entry does not validate"

# 3. SQLite store: create, list, revoke.
cat >"$dir/c.yaml" <<YAML
auth:
  key_store: {type: sqlite, path: "$dir/keys.db"}
  teams: {eng: {models: ["gpt-*"]}}
YAML
out="$("$bin" keys create -c "$dir/c.yaml" --owner bob --team eng --models gpt-4o-mini --expires 30d)"
key="$(sed -n 's/^key: //p' <<<"$out")"
hash="$(sed -n 's/^hash: //p' <<<"$out")"
id="$(sed -n 's/^id: //p' <<<"$out")"
grep -q "^stored in " <<<"$out" || fail "not stored"
list="$("$bin" keys list -c "$dir/c.yaml")"
grep -q "^$id .* bob .* eng .* active " <<<"$list" || fail "list: $list"
grep -q "$hash" <<<"$list" && fail "list shows the hash"
grep -q -- "${key#sk-sb-}" "$dir/keys.db" && fail "the store holds the key"
grep -q "$hash" "$dir/keys.db" || fail "the store lacks the hash"
"$bin" keys revoke -c "$dir/c.yaml" "$id" | grep -q "^revoked $id$" || fail "revoke"
"$bin" keys list -c "$dir/c.yaml" | grep -q "^$id .* revoked " || fail "not revoked"
if "$bin" keys revoke -c "$dir/c.yaml" key_0000000000000000 2>/dev/null; then fail "revoked a ghost"; fi

# 4. No key wider than its team.
set +e
err="$("$bin" keys create -c "$dir/c.yaml" --team eng --models claude-3 2>&1)"
rc=$?
set -e
[[ $rc -eq 3 ]] || fail "wider key: exit $rc"
grep -q "allowed: gpt-\*" <<<"$err" || fail "wider key message: $err"
grep -q "sk-sb-" <<<"$err" && fail "a refused create printed a key"
echo "ok"
