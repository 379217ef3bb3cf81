# shellcheck shell=bash
# Go module helpers shared by the build scripts under hack/ (sourced, not executed).
#
# Every helper here fetches what it reads: nothing may rely on a module that an earlier run (or
# an earlier `go build`) happened to leave in the module cache.

# modver <go.mod> <module path>: the required version, read from the go.mod text.
modver() {
  awk -v m="$2" '($1 == m && $2 ~ /^v/) || ($1 == "require" && $2 == m) { print ($1 == "require" ? $3 : $2); exit }' "$1"
}

# mod_dir <module dir> <module path>: the source directory of <module path> at the version that
# <module dir>'s go.mod selects, downloaded through the module proxy first if it is not cached.
# (`go list -m -f '{{.Dir}}'` alone prints nothing for a module that is not downloaded yet.)
mod_dir() {
  (cd "$1" && GOFLAGS=-mod=readonly GOWORK=off go mod download -json "$2") |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p'
}

# mod_json_field <module dir> <module path> <field>: a string field (Version, Time, ...) of the
# module's `go mod download -json` record, downloading it if needed.
mod_json_field() {
  (cd "$1" && GOFLAGS=-mod=readonly GOWORK=off go mod download -json "$2") |
    sed -n "s/^[[:space:]]*\"$3\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p" | head -n 1
}
