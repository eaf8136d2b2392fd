# Sourced by the bench scripts: bench/.venv with the pinned peers of requirements.txt, made
# or topped up when a module it must have is missing (the modules are the arguments).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
if [ ! -x "$here/.venv/bin/python" ] || ! "$here/.venv/bin/python" -c "import ${*// /, }" 2>/dev/null; then
  python3 -m venv "$here/.venv" >&2
  "$here/.venv/bin/pip" install --quiet -r "$here/requirements.txt" >&2
fi
