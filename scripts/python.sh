# Sourced by the setup scripts: find_python prints the path of the project's Python (.python-version).
PYTHON_VERSION="$(cat .python-version)"

find_python() {
  if command -v pyenv >/dev/null && pyenv prefix "$PYTHON_VERSION" >/dev/null 2>&1; then
    echo "$(pyenv prefix "$PYTHON_VERSION")/bin/python"
  elif [ -x "$HOME/.pyenv/versions/$PYTHON_VERSION/bin/python" ]; then
    echo "$HOME/.pyenv/versions/$PYTHON_VERSION/bin/python"
  elif command -v "python${PYTHON_VERSION%.*}" >/dev/null; then
    command -v "python${PYTHON_VERSION%.*}"
  else
    echo "setup: Python ${PYTHON_VERSION%.*} is needed (pyenv install $PYTHON_VERSION)" >&2
    exit 1
  fi
}
