import KVMHarness
import KVMHarnessReporting
import Testing

@Suite("KVMBinaryStatistics.parse: the KVM_GET_STATS_FD file format")
struct BinaryStatisticsTests {
    /// A stats file: header, id, descriptors (each 16 bytes + name_size), data.
    private func file(_ statistics: [(name: String, flags: UInt32, exponent: Int16, values: [UInt64])]) -> [UInt8] {
        let nameSize = 48
        let idOffset = 24
        let descriptorOffset = idOffset + nameSize
        let dataOffset = descriptorOffset + statistics.count * (16 + nameSize)
        var bytes: [UInt8] = []
        func u32(_ value: UInt32) { for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) } }
        func u64(_ value: UInt64) { for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) } }
        for value in [0, UInt32(nameSize), UInt32(statistics.count), UInt32(idOffset), UInt32(descriptorOffset),
            UInt32(dataOffset)]
        {
            u32(value)
        }
        bytes += Array("kvm-1234".utf8) + [UInt8](repeating: 0, count: nameSize - 8)
        var offset: UInt32 = 0
        for statistic in statistics {
            u32(statistic.flags)
            u32(UInt32(UInt16(bitPattern: statistic.exponent)) | UInt32(statistic.values.count) << 16)
            u32(offset)
            u32(0)  // bucket_size
            bytes += Array(statistic.name.utf8) + [UInt8](repeating: 0, count: nameSize - statistic.name.utf8.count)
            offset += UInt32(statistic.values.count * 8)
        }
        for statistic in statistics { for value in statistic.values { u64(value) } }
        return bytes
    }

    @Test("names, kinds, units, exponents and values, histograms included")
    func parse() throws {
        let parsed = try KVMBinaryStatistics.parse(file([
            ("exits", 0x00, 0, [1234]),
            ("halt_wait_ns", 0x21, -9, [77]),  // instant, seconds
            ("halt_wait_hist", 0x124, -9, [1, 2, 3, 4]),  // log histogram, seconds, base 2
        ]))
        #expect(parsed.map(\.name) == ["exits", "halt_wait_ns", "halt_wait_hist"])
        #expect(parsed[0] == KVMStatistic(name: "exits", kind: .cumulative, unit: KVMStatistic.Unit.none, values: [1234]))
        #expect(parsed[1].kind == .instant)
        #expect(parsed[1].unit == .seconds)
        #expect(parsed[1].exponent == -9)
        #expect(parsed[2].kind == .logarithmicHistogram)
        #expect(parsed[2].baseIsTwo)
        #expect(parsed[2].values == [1, 2, 3, 4])
    }

    @Test("a cut-short file is an error, never a crash")
    func truncated() throws {
        let whole = file([("exits", 0, 0, [1]), ("other", 0, 0, [2, 3])])
        for length in 0..<whole.count {
            #expect(throws: KVMError.self) { try KVMBinaryStatistics.parse(Array(whole.prefix(length))) }
        }
        #expect(try KVMBinaryStatistics.parse(whole).count == 2)
    }
}
