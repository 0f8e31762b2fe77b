#!/usr/bin/env bash
# Make this checkout ready to run: the Debian packages nova-tx builds against, a
# virtualenv in .venv, and the package installed into it (editable, with its Cython
# kernel compiled in place). Safe to run again; it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and runtime dependencies from Debian. libvirt-dev and pkg-config are what
# libvirt-python compiles against; gcc compiles the kernel; libvirt-clients brings
# virt-xml-validate (the domain XML tests; it runs libxml2-utils' xmllint) and
# qemu-utils qemu-img (instance disks).
APT_PACKAGES=(gcc pkg-config libvirt-dev libvirt-clients libxml2-utils qemu-utils)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "bootstrap: creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip --quiet --disable-pip-version-check)
"${pip[@]}" install --upgrade pip setuptools wheel
# The build requirements of pyproject.toml, installed once into .venv so that an
# editable rebuild does not fetch them again into an isolated build environment.
"${pip[@]}" install "setuptools>=68" "Cython>=3.0" "numpy>=1.26"
# compat mode puts the checkout itself on sys.path, which is how twistd finds
# twisted/plugins/ and how a module dropped into plugins/ is found.
"${pip[@]}" install --no-build-isolation -e ".[test]" --config-settings editable_mode=compat
# Refresh Twisted's plugin cache now, so the first twistd run does not write it.
.venv/bin/python -c 'from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))'
echo "bootstrap: .venv is ready"
