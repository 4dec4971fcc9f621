#!/bin/sh
# Log-search access (components/k8s/logSearch.ts): upsert the declared roles, role
# mappings and the data view, then delete ours (PREFIX*-logs) that are no longer declared.
set -eu
: "${ES_URL:?}" "${KIBANA_URL:?}" "${PREFIX:?}" "${AUTH_FILE:?}" "${DIR:?}"

nl='
'

# request METHOD URL [BODY_FILE]: sets $status (the HTTP status) and $answer (the body);
# fails only when no answer came (curl's own error on stderr).
request() {
  if [ "$#" -eq 3 ]; then
    set -- "$1" "$2" -H 'Content-Type: application/json' --data-binary "@$3"
  fi
  method=$1
  url=$2
  shift 2
  if ! answer=$(curl -sS --max-time 30 -w "$nl%{http_code}" -X "$method" -H "@$AUTH_FILE" -H 'kbn-xsrf: platform' "$@" "$url"); then
    echo "$method $url failed: no answer" >&2
    return 1
  fi
  status=${answer##*"$nl"}
  answer=${answer%"$nl"*}
}

# call METHOD URL [BODY_FILE]: prints the answer of a 2xx; on anything else prints it to
# stderr with the request and fails (set -e then stops the sync).
call() {
  request "$@" || return 1
  case $status in
    2??) printf '%s\n' "$answer" ;;
    *)
      echo "$1 $2 failed: HTTP $status $answer" >&2
      return 1
      ;;
  esac
}

# Data views need more than manage_security (README "Set-up prerequisites").
dataview_hint() {
  if [ "$status" = 403 ]; then
    echo "platform:logSearchApiKey needs the Kibana feature privilege \"Data View Management\" (all) in the default space and view_index_metadata on the indices" >&2
  fi
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
# The data view, by id: updated when it exists (create's override matches by title, so a changed
# index pattern would conflict with our own id), created when Kibana answers 404.
view=$(cat "$DIR/dataview.id")
views="$KIBANA_URL/api/data_views/data_view"
request GET "$views/$view"
case $status in
  200) what=updated && set -- POST "$views/$view" "$DIR/dataview-update.json" ;;
  404) what=created && set -- POST "$views" "$DIR/dataview.json" ;;
  *)
    echo "GET $views/$view failed: HTTP $status $answer" >&2
    dataview_hint
    exit 1
    ;;
esac
if ! call "$@" >/dev/null; then
  dataview_hint
  exit 1
fi
echo "data view $view: $what"

# Retire what no workspace declares any more: mappings first (nobody is granted a
# role while it goes), then roles. Names are ours only: PREFIX<workspace>-logs.
# A failed listing stops the sync (assignment keeps call's status); no match is not an error.
listing=$(call GET "$ES_URL/_security/role_mapping")
retire "$(printf '%s' "$listing" | grep -o "\"${PREFIX}[a-z0-9-]*-logs\":" | tr -d '":' || true)" "$ES_URL/_security/role_mapping" "role mapping"
listing=$(call GET "$KIBANA_URL/api/security/role")
retire "$(printf '%s' "$listing" | grep -o "\"name\":\"${PREFIX}[a-z0-9-]*-logs\"" | sed 's/^"name":"//; s/"$//' || true)" "$KIBANA_URL/api/security/role" role
