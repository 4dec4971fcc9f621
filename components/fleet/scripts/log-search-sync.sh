#!/bin/sh
# Log-search access (components/k8s/logSearch.ts): upsert the declared roles and
# role mappings, then delete ours (PREFIX*-logs) that are no longer declared.
set -eu
: "${ES_URL:?}" "${KIBANA_URL:?}" "${PREFIX:?}" "${AUTH_FILE:?}" "${DIR:?}"

# call METHOD URL [BODY_FILE]: prints the answer; on an HTTP error prints it to
# stderr with the request and fails (set -e then stops the sync).
call() {
  if [ "$#" -eq 3 ]; then
    set -- "$1" "$2" -H 'Content-Type: application/json' --data-binary "@$3"
  fi
  method=$1
  url=$2
  shift 2
  if ! answer=$(curl --fail-with-body -sS --max-time 30 -X "$method" -H "@$AUTH_FILE" -H 'kbn-xsrf: platform' "$@" "$url"); then
    echo "$method $url failed: $answer" >&2
    return 1
  fi
  printf '%s\n' "$answer"
}

declared() {
  [ -f "$DIR/roles/$1.json" ]
}

# put_each SUBDIR URL WHAT: PUT each SUBDIR/<name>.json to URL/<name>.
put_each() {
  for f in "$DIR/$1"/*.json; do
    [ -e "$f" ] || continue
    name=$(basename "$f" .json)
    call PUT "$2/$name" "$f" >/dev/null
    echo "$3 $name: applied"
  done
}

# retire NAMES URL WHAT: DELETE URL/<name> for each of NAMES no file declares.
retire() {
  for name in $1; do
    if ! declared "$name"; then
      call DELETE "$2/$name" >/dev/null
      echo "$3 $name: deleted"
    fi
  done
}

put_each roles "$KIBANA_URL/api/security/role" role
put_each mappings "$ES_URL/_security/role_mapping" "role mapping"
call POST "$KIBANA_URL/api/data_views/data_view" "$DIR/dataview.json" >/dev/null
echo "data view: applied"

# Retire what no workspace declares any more: mappings first (nobody is granted a
# role while it goes), then roles. Names are ours only: PREFIX<workspace>-logs.
# A failed listing stops the sync (assignment keeps call's status); no match is not an error.
listing=$(call GET "$ES_URL/_security/role_mapping")
retire "$(printf '%s' "$listing" | grep -o "\"${PREFIX}[a-z0-9-]*-logs\":" | tr -d '":' || true)" "$ES_URL/_security/role_mapping" "role mapping"
listing=$(call GET "$KIBANA_URL/api/security/role")
retire "$(printf '%s' "$listing" | grep -o "\"name\":\"${PREFIX}[a-z0-9-]*-logs\"" | sed 's/^"name":"//; s/"$//' || true)" "$KIBANA_URL/api/security/role" role
