#!/usr/bin/env bash
# Installs the independent checkers that the CLI tests hold kvm-harness's suite reports against, into
# .build/report-checkers/ (or the folder given):
#
# - the kernel's own KTAP parser, tools/testing/kunit/kunit.py, from Debian's linux-source-6.12: only
#   tools/testing/kunit is extracted from /usr/src/linux-source-6.12.tar.xz (the package is installed with
#   apt-get when it is missing and this runs as root, as CI does);
# - the JUnit XML schema of Jenkins' xUnit plugin (junit-10.xsd), taken from pytest's source distribution on PyPI,
#   whose own tests validate pytest's JUnit reports against it, and the xmlschema validator from PyPI.
#
# Usage: scripts/install-report-checkers.sh [FOLDER]
# Prints one line per checker; exits 1, saying what is missing and why, if either cannot be had (the tests that
# need it then skip with that reason). Runs again cheaply: what is there already is kept.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$root/.build/report-checkers"}
mkdir -p "$out"
out=$(cd "$out" && pwd)
status=0

kernel_source=/usr/src/linux-source-6.12.tar.xz
kunit="$out/linux/tools/testing/kunit/kunit.py"
if [ ! -f "$kunit" ]; then
    if [ ! -f "$kernel_source" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "install-report-checkers.sh: installing linux-source-6.12 (about 150 MB) for kunit.py"
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends linux-source-6.12 >/dev/null 2>&1 \
            || { apt-get update >/dev/null 2>&1 \
                && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends linux-source-6.12 \
                    >/dev/null 2>&1; }
    fi
    if [ -f "$kernel_source" ]; then
        work=$(mktemp -d "$out/.kunit.XXXXXX")
        if tar -C "$work" --strip-components=1 -xJf "$kernel_source" --wildcards '*/tools/testing/kunit/*' \
            && [ -f "$work/tools/testing/kunit/kunit.py" ]; then
            rm -rf "$out/linux"
            mv "$work" "$out/linux"
        else
            rm -rf "$work"
        fi
    fi
fi
if [ -f "$kunit" ]; then
    echo "install-report-checkers.sh: kunit.py: $kunit"
else
    echo "install-report-checkers.sh: kunit.py unavailable: $kernel_source is missing (apt-get install" \
        "linux-source-6.12 as root)"
    status=1
fi

schema="$out/junit-10.xsd"
python="$out/python"
pytest_version=8.3.5
xmlschema_version=4.3.2
if [ ! -f "$schema" ]; then
    work=$(mktemp -d "$out/.pytest.XXXXXX")
    if python3 -m pip download --quiet --no-deps --no-binary :all: "pytest==$pytest_version" -d "$work" \
        >/dev/null 2>&1 \
        && tar -C "$work" -xzf "$work/pytest-$pytest_version.tar.gz" \
            "pytest-$pytest_version/testing/example_scripts/junit-10.xsd"; then
        mv "$work/pytest-$pytest_version/testing/example_scripts/junit-10.xsd" "$schema"
    fi
    rm -rf "$work"
fi
if [ ! -d "$python/xmlschema" ]; then
    python3 -m pip install --quiet --disable-pip-version-check --target "$python" "xmlschema==$xmlschema_version" \
        >/dev/null 2>&1 || rm -rf "$python"
fi
if [ -f "$schema" ] && [ -d "$python/xmlschema" ]; then
    echo "install-report-checkers.sh: JUnit schema: $schema; xmlschema $xmlschema_version: $python"
else
    echo "install-report-checkers.sh: JUnit validation unavailable: pip could not fetch pytest $pytest_version's" \
        "source (for junit-10.xsd) or xmlschema $xmlschema_version from PyPI"
    status=1
fi
exit $status
