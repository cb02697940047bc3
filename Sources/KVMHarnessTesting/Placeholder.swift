@_exported import KVMHarness
