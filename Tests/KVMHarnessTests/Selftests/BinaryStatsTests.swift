import Glibc
import KVMHarnessTesting
import SystemPackage
import Testing

@testable import KVMHarness

/// A port of Linux 6.18's `kvm_binary_stats_test.c`: the statistics files of 4 bare VMs with 4 vCPUs each, opened
/// twice (one through `dup`), and read again after the VM is gone: an id starting "kvm", descriptors and data in
/// bounds and apart, each descriptor's type, unit, base, exponent, size and bucket size within the ABI, the data
/// readable in bulk and one statistic at a time. Also `statistic(named:)`, the library's `vm_get_stat`.
@Suite("selftest kvm_binary_stats_test", .requiresKVM, .requires(.binaryStatsFD))
struct BinaryStatsTests {
    static let vms = 4
    static let vcpusPerVM = 4

    /// The C test's `stats_test`: checks the file behind `fd`, then closes it.
    private func check(_ fd: FileDescriptor, _ owner: String) throws {
        defer { try? fd.close() }
        func read(_ count: Int, at offset: Int) throws -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: count)
            let got = bytes.withUnsafeMutableBytes { pread(fd.rawValue, $0.baseAddress, count, off_t(offset)) }
            try #require(got == count, "\(owner): pread of \(count) bytes at \(offset) returned \(got)")
            return bytes
        }
        func u32(_ b: [UInt8], _ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(b[at + $1]) << (8 * $1) } }
        let header = try read(24, at: 0)
        let (flags, nameSize, count, descOffset, dataOffset) =
            (u32(header, 0), Int(u32(header, 4)), Int(u32(header, 8)), Int(u32(header, 16)), Int(u32(header, 20)))
        #expect(flags == 0)
        let id = try read(nameSize, at: 24)
        let idString = String(decoding: id.prefix { $0 != 0 }, as: UTF8.self)
        #expect(idString.hasPrefix("kvm") && id.contains(0), "\(owner): id \(idString)")
        guard count > 0 else { return }
        let descriptorSize = 16 + nameSize
        #expect(descOffset >= 24 && dataOffset >= 24, "\(owner): offsets inside the header")
        #expect(descOffset > dataOffset || descOffset + descriptorSize * count <= dataOffset,
                "\(owner): descriptors overlap the data")
        let descriptors = try read(descriptorSize * count, at: descOffset)
        var dataSize = 0
        var offsets: [(name: String, offset: Int, size: Int)] = []
        for index in 0..<count {
            let base = index * descriptorSize
            let flags = u32(descriptors, base)
            let exponent = Int16(truncatingIfNeeded: u32(descriptors, base + 4) & 0xffff)
            let size = Int(u32(descriptors, base + 4) >> 16)
            let offset = Int(u32(descriptors, base + 8))
            let bucketSize = u32(descriptors, base + 12)
            let nameBytes = descriptors[(base + 16)..<(base + descriptorSize)]
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            #expect(nameBytes.contains(0), "\(owner): name of descriptor \(index) too long")
            let (type, unit, radix) = (flags & 0xf, (flags >> 4) & 0xf, (flags >> 8) & 0xf)
            #expect(type <= 4 && unit <= 4 && radix <= 1, "\(owner) \(name): type \(type) unit \(unit) base \(radix)")
            switch unit {
            case 0, 1, 3: #expect(exponent >= 0, "\(owner) \(name): exponent \(exponent)")
            case 2: #expect(exponent <= 0, "\(owner) \(name): exponent \(exponent)")
            case 4: #expect(exponent == 0, "\(owner) \(name): exponent \(exponent)")
            default: break
            }
            #expect(size > 0, "\(owner) \(name): size 0")
            #expect(type == 3 ? bucketSize != 0 : bucketSize == 0, "\(owner) \(name): bucket size \(bucketSize)")
            dataSize = max(dataSize, offset + size * 8)
            offsets.append((name, offset, size))
        }
        #expect(dataOffset >= descOffset || dataOffset + dataSize <= descOffset, "\(owner): data overlaps descriptors")
        #expect(dataSize >= count * 8)
        _ = try read(dataSize, at: dataOffset)  // in bulk
        for entry in offsets { _ = try read(entry.size * 8, at: dataOffset + entry.offset) }  // one at a time
        // The library's parser agrees with this reading of the file.
        let whole = try read(max(dataOffset + dataSize, descOffset + descriptorSize * count), at: 0)
        let parsed = try KVMBinaryStatistics.parse(whole)
        #expect(parsed.map(\.name) == offsets.map(\.name))
    }

    @Test("4 VMs × 4 vCPUs: every statistics file, through dup and a second open, and after the VM is gone")
    func statisticsFiles() throws {
        for index in 0..<Self.vms {
            var vm: VirtualMachine? = try VirtualMachine(configuration: .bare)
            var vcpus: [VCPU] = try (0..<Self.vcpusPerVM).map { try vm!.addBareVCPU(id: $0) }
            let vmFD = try vm!.openStatistics()
            try check(FileDescriptor(rawValue: dup(vmFD.rawValue)), "VM \(index) (dup)")
            try check(vm!.openStatistics(), "VM \(index)")
            var vcpuFDs: [FileDescriptor] = []
            for vcpu in vcpus {
                let fd = try vcpu.openStatistics()
                vcpuFDs.append(fd)
                try check(FileDescriptor(rawValue: dup(fd.rawValue)), "vCPU \(vcpu.index) of VM \(index) (dup)")
                try check(vcpu.openStatistics(), "vCPU \(vcpu.index) of VM \(index)")
            }
            // Gone from this process: the statistics files keep KVM's VM alive.
            vcpus = []
            vm = nil
            #expect(vm == nil && vcpus.isEmpty)
            try check(vmFD, "VM \(index) after it is freed")
            for (j, fd) in vcpuFDs.enumerated() { try check(fd, "vCPU \(j) of VM \(index) after it is freed") }
        }
    }

    @Test("statistic(named:) reads one VM or vCPU statistic; an unknown name lists the known ones")
    func byName() throws {
        let vm = try VirtualMachine(configuration: .bare)
        let vcpu = try vm.addBareVCPU(id: 0)
        let exits = try vcpu.statistic(named: "exits")
        #expect(try vcpu.binaryStatistics().first { $0.name == "exits" }?.values.first == exits)
        _ = try vm.statistic(named: "remote_tlb_flush")
        #expect(throws: KVMError.self) { try vm.statistic(named: "no_such_statistic") }
    }
}
