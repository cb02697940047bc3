#!/usr/bin/env python3
# The CLI tests check `kvm-harness test --junit` output with this (scripts/install-report-checkers.sh gets the
# schema and the validator).
"""Validates a JUnit XML file against a schema with xmlschema, and prints what it holds as one JSON object.

Usage: scripts/validate-junit.py SCHEMA.xsd PYTHON_PATH REPORT.xml

Prints {"valid": true, "tests": N, "failures": N, "skipped": N, "testcases": [{"name", "outcome", "type"}]} and
exits 0 for a valid report; prints the validator's reason and exits 1 for an invalid one.
"""
import json
import sys
import xml.etree.ElementTree as ElementTree

schema_path, python_path, report_path = sys.argv[1:4]
sys.path.insert(0, python_path)
import xmlschema  # noqa: E402

schema = xmlschema.XMLSchema(schema_path)
try:
    schema.validate(report_path)
except (xmlschema.XMLSchemaException, ElementTree.ParseError) as error:
    print(f"invalid: {error}")
    sys.exit(1)

suite = ElementTree.parse(report_path).getroot().find("testsuite")
cases = []
for case in suite.findall("testcase"):
    outcome, kind = "passed", None
    for child in case:
        if child.tag in ("failure", "skipped"):
            outcome, kind = child.tag, child.get("type")
    cases.append({"name": case.get("name"), "outcome": outcome, "type": kind})
print(json.dumps({
    "valid": True,
    "tests": int(suite.get("tests")),
    "failures": int(suite.get("failures")),
    "skipped": int(suite.get("skipped")),
    "testcases": cases,
}))
