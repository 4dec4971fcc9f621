// A helper of ../build-kube-router.sh (see main.go).
module platform-harness/modhash

go 1.26.2

require golang.org/x/mod v0.32.0
