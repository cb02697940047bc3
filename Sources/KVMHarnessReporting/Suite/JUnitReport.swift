import KVMHarness

/// A suite's results as JUnit XML, the form Jenkins, GitLab and GitHub read: one `<testsuite>` inside
/// `<testsuites>`, one `<testcase>` per image.
///
/// It keeps to the JUnit schema Jenkins' xUnit plugin publishes (junit-10.xsd, also the one pytest validates its
/// own reports against): a failed or timed-out image has a `<failure>` whose `type` is the run's result and whose
/// message is the deciding event, with the last ucalls as its text; an image that could not be run has a
/// `<failure type="error">` (the schema has no `<error>` element); a skipped one has `<skipped>` with the reason.
/// Times are seconds with three decimals.
package enum JUnitReport {
    /// How many of a failed image's last ucalls the failure text shows.
    package static let ucallsShown = 10

    /// The whole document.
    ///
    /// - Parameters:
    ///   - results: the images, in suite order.
    ///   - suiteName: the `<testsuite>` and `<testsuites>` name.
    ///   - elapsedNanoseconds: the suite's wall time.
    ///   - timestamp: ISO 8601 start time (`2026-11-30T16:00:00`), or nil to leave it out.
    ///   - hostname: the host, or nil to leave it out.
    ///   - properties: name and value pairs for `<properties>` (the host's description, the command).
    package static func document(
        _ results: [ImageResult], suiteName: String, elapsedNanoseconds: UInt64, timestamp: String? = nil,
        hostname: String? = nil, properties: [(name: String, value: String)] = []
    ) -> String {
        let totals = SuiteTotals(results)
        let failures = totals.failed + totals.timedOut + totals.errors
        let time = seconds(elapsedNanoseconds)
        var xml = #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n"
        xml += "<testsuites name=\"\(escape(suiteName))\" tests=\"\(totals.total)\" failures=\"\(failures)\" "
            + "errors=\"0\" time=\"\(time)\">\n"
        xml += "  <testsuite name=\"\(escape(suiteName))\" tests=\"\(totals.total)\" failures=\"\(failures)\" "
            + "errors=\"0\" skipped=\"\(totals.skipped)\" time=\"\(time)\""
        if let timestamp { xml += " timestamp=\"\(escape(timestamp))\"" }
        if let hostname { xml += " hostname=\"\(escape(hostname))\"" }
        xml += ">\n"
        if !properties.isEmpty {
            xml += "    <properties>\n"
            for property in properties {
                xml += "      <property name=\"\(escape(property.name))\" value=\"\(escape(property.value))\"/>\n"
            }
            xml += "    </properties>\n"
        }
        for result in results { xml += testcase(result, suiteName: suiteName) }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    private static func testcase(_ result: ImageResult, suiteName: String) -> String {
        var xml = "    <testcase name=\"\(escape(result.image.name))\" classname=\"\(escape(suiteName))\" "
            + "time=\"\(seconds(result.elapsedNanoseconds))\""
        let reason = result.reason ?? ""
        switch result.verdict {
        case .pass:
            if case .ran(let summary) = result.outcome {
                xml += ">\n      <system-out>\(escape("\(summary.ucalls) ucalls, result done"))</system-out>\n"
                xml += "    </testcase>\n"
            } else {
                xml += "/>\n"
            }
        case .skip:
            xml += ">\n      <skipped message=\"\(escape(reason))\"/>\n    </testcase>\n"
        case .fail, .timeout:
            var type = result.verdict.rawValue
            if case .ran(let summary) = result.outcome { type = summary.result.rawValue }
            let ucalls = result.lastUcalls(ucallsShown)
            let body = ucalls.isEmpty ? "no ucalls" : "last ucalls:\n" + ucalls.joined(separator: "\n")
            xml += ">\n      <failure type=\"\(escape(type))\" message=\"\(escape(reason))\">"
            xml += "\(escape(body))</failure>\n"
            xml += "    </testcase>\n"
        case .error:
            xml += ">\n      <failure type=\"error\" message=\"\(escape(reason))\">\(escape(reason))</failure>\n"
            xml += "    </testcase>\n"
        }
        return xml
    }

    /// Seconds with three decimals, as the schema's SUREFIRE_TIME pattern allows: 1234567 ns -> "0.001".
    package static func seconds(_ nanoseconds: UInt64) -> String {
        let milliseconds = (nanoseconds + 500_000) / 1_000_000
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// `text` made safe for XML 1.0 text and attribute values: the five markup characters as entities, tab,
    /// newline and carriage return as character references (so attribute normalization keeps them), and every
    /// character XML 1.0 forbids (other C0 controls, U+FFFE, U+FFFF) as U+FFFD.
    package static func escape(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\"": output += "&quot;"
            case "'": output += "&apos;"
            case "\t": output += "&#9;"
            case "\n": output += "&#10;"
            case "\r": output += "&#13;"
            default:
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF {
                    output.unicodeScalars.append("\u{FFFD}")
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        return output
    }
}
