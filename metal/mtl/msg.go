package mtl

import "unsafe"

// MTLSize mirrors Metal's MTLSize: three NSUInteger fields, 64-bit on every
// Mac. It crosses the Objective-C boundary by value (24 bytes): on arm64 the
// caller passes a pointer to a copy (AAPCS64 rule for composites over 16
// bytes) and receives it through x8; on amd64 it travels on the stack and is
// returned through a hidden pointer (objc_msgSend_stret). purego implements
// both for struct arguments and results on darwin.
type MTLSize struct {
	Width, Height, Depth uint64
}

// Metal constants, from Apple's headers (MTLDevice.h, MTLLibrary.h,
// MTLCommandBuffer.h, MTLResource.h).
const (
	gpuFamilyApple1 = 1001 // MTLGPUFamilyApple1
	gpuFamilyApple7 = 1007 // MTLGPUFamilyApple7: M1, A14 and later
	// gpuFamilyAppleMax is the highest Apple family probed (Apple10, in
	// Apple's SDK since macOS 26). Older systems answer NO for families they
	// do not know, as they do for Apple9 on macOS 13.
	gpuFamilyAppleMax = 1010
	gpuFamilyMac2     = 2002 // MTLGPUFamilyMac2: Intel and AMD GPUs in Macs

	languageVersion3_0 = 3<<16 | 0 // MTLLanguageVersion3_0 = 196608

	mathModeSafe = 0 // MTLMathModeSafe

	resourceStorageModeShared = 0 // MTLResourceStorageModeShared

	commandBufferStatusCompleted = 4 // MTLCommandBufferStatusCompleted
	commandBufferStatusError     = 5 // MTLCommandBufferStatusError

	// maxSetBytes is the largest setBytes:length:atIndex: payload Metal allows.
	maxSetBytes = 4096
	// maxBufferBindings is the number of [[buffer(i)]] slots of a compute
	// function (0 to 30).
	maxBufferBindings = 31
	// maxThreadgroupBindings is the number of [[threadgroup(i)]] slots.
	maxThreadgroupBindings = 31
)

// sends is the whole surface the driver uses to reach the Objective-C
// runtime and Metal: C functions, selector and class lookup, and one typed
// objc_msgSend per call signature. On darwin it is filled with purego
// (sends_darwin.go); the tests fill it with a recording fake. The driver
// logic (driver.go) sees nothing else, so the fake exercises the real call
// sequences.
//
// Naming: the result kind comes first (id, v for void, u64, boolean, f64,
// ptr, str, size), then the argument kinds in order. obj is the receiver
// (an object or a class), sel the selector.
type sends struct {
	// load opens the frameworks and fills the rest of the table. It runs
	// once; later calls return the first result.
	load func() error

	sel   func(name string) uintptr // sel_registerName
	class func(name string) uintptr // objc_getClass; 0 if not loaded

	createSystemDefaultDevice func() uintptr     // MTLCreateSystemDefaultDevice (+1)
	copyAllDevices            func() uintptr     // MTLCopyAllDevices (+1 NSArray)
	poolPush                  func() uintptr     // objc_autoreleasePoolPush
	poolPop                   func(pool uintptr) // objc_autoreleasePoolPop
	threadID                  func() uintptr     // pthread_self

	// No arguments.
	id      func(obj, sel uintptr) uintptr
	v       func(obj, sel uintptr)
	u64     func(obj, sel uintptr) uint64
	boolean func(obj, sel uintptr) bool
	f64     func(obj, sel uintptr) float64
	ptr     func(obj, sel uintptr) unsafe.Pointer
	str     func(obj, sel uintptr) string // a const char* result, copied
	size    func(obj, sel uintptr) MTLSize

	// One argument.
	idStr   func(obj, sel uintptr, s string) uintptr // s goes in as const char*
	idID    func(obj, sel, a uintptr) uintptr
	idU64   func(obj, sel uintptr, a uint64) uintptr
	boolU64 func(obj, sel uintptr, a uint64) bool
	boolID  func(obj, sel, a uintptr) bool
	vID     func(obj, sel, a uintptr)
	vU64    func(obj, sel uintptr, a uint64)
	vBool   func(obj, sel uintptr, a bool)

	// Two arguments.
	idIDErr   func(obj, sel, a uintptr, err *uintptr) uintptr
	idU64U64  func(obj, sel uintptr, a, b uint64) uintptr
	vU64U64   func(obj, sel uintptr, a, b uint64)
	vSizeSize func(obj, sel uintptr, a, b MTLSize)

	// Three arguments.
	idIDIDErr  func(obj, sel, a, b uintptr, err *uintptr) uintptr
	vIDU64U64  func(obj, sel, a uintptr, b, c uint64)
	vPtrU64U64 func(obj, sel uintptr, p unsafe.Pointer, n, i uint64)
}

// sendKind names one typed send of the table, for the mechanical check that
// a selector's colons match the arguments of the send that carries it.
type sendKind string

// arity is the number of arguments after obj and sel.
func (k sendKind) arity() int {
	switch k {
	case kID, kV, kU64, kBool, kF64, kPtr, kStr, kSize:
		return 0
	case kIDStr, kIDID, kIDU64, kBoolU64, kBoolID, kVID, kVU64, kVBool:
		return 1
	case kIDIDErr, kIDU64U64, kVU64U64, kVSizeSize:
		return 2
	case kIDIDIDErr, kVIDU64U64, kVPtrU64U64:
		return 3
	}
	return -1
}

const (
	kID         sendKind = "id"
	kV          sendKind = "v"
	kU64        sendKind = "u64"
	kBool       sendKind = "boolean"
	kF64        sendKind = "f64"
	kPtr        sendKind = "ptr"
	kStr        sendKind = "str"
	kSize       sendKind = "size"
	kIDStr      sendKind = "idStr"
	kIDID       sendKind = "idID"
	kIDU64      sendKind = "idU64"
	kBoolU64    sendKind = "boolU64"
	kBoolID     sendKind = "boolID"
	kVID        sendKind = "vID"
	kVU64       sendKind = "vU64"
	kVBool      sendKind = "vBool"
	kIDIDErr    sendKind = "idIDErr"
	kIDU64U64   sendKind = "idU64U64"
	kVU64U64    sendKind = "vU64U64"
	kVSizeSize  sendKind = "vSizeSize"
	kIDIDIDErr  sendKind = "idIDIDErr"
	kVIDU64U64  sendKind = "vIDU64U64"
	kVPtrU64U64 sendKind = "vPtrU64U64"
)

// selectors holds every selector the driver sends, registered once per
// driver at Open (the darwin table also caches sel_registerName per name).
type selectors struct {
	// NSObject
	new, retain, release, respondsToSelector uintptr
	// NSString, NSError, NSArray
	stringWithUTF8String, utf8String, localizedDescription, count, objectAtIndex uintptr
	// MTLDevice
	name, supportsFamily, hasUnifiedMemory, maxThreadgroupMemoryLength,
	maxThreadsPerThreadgroup, maxBufferLength, newCommandQueue,
	newLibraryWithSourceOptionsError, newComputePipelineStateWithFunctionError,
	newBufferWithLengthOptions uintptr
	// MTLCompileOptions
	setLanguageVersion, languageVersion, setMathMode, setFastMathEnabled uintptr
	// MTLLibrary, MTLComputePipelineState, MTLBuffer
	newFunctionWithName, maxTotalThreadsPerThreadgroup, threadExecutionWidth,
	staticThreadgroupMemoryLength, contents uintptr
	// MTLCommandQueue, MTLCommandBuffer
	commandBuffer, computeCommandEncoder, commit, waitUntilCompleted, status,
	errorSel, gpuStartTime, gpuEndTime uintptr
	// MTLComputeCommandEncoder
	setComputePipelineState, setBufferOffsetAtIndex, setBytesLengthAtIndex,
	setThreadgroupMemoryLengthAtIndex, dispatchThreadgroups, endEncoding uintptr
}

// selEntry ties a selector field to its Objective-C name and the typed send
// that carries it.
type selEntry struct {
	field *uintptr
	name  string
	kind  sendKind
}

// table lists every selector the driver uses: the single source for
// registration and for the mechanical selector check in the tests.
func (s *selectors) table() []selEntry {
	return []selEntry{
		{&s.new, "new", kID},
		{&s.retain, "retain", kID},
		{&s.release, "release", kV},
		{&s.respondsToSelector, "respondsToSelector:", kBoolID},

		{&s.stringWithUTF8String, "stringWithUTF8String:", kIDStr},
		{&s.utf8String, "UTF8String", kStr},
		{&s.localizedDescription, "localizedDescription", kID},
		{&s.count, "count", kU64},
		{&s.objectAtIndex, "objectAtIndex:", kIDU64},

		{&s.name, "name", kID},
		{&s.supportsFamily, "supportsFamily:", kBoolU64},
		{&s.hasUnifiedMemory, "hasUnifiedMemory", kBool},
		{&s.maxThreadgroupMemoryLength, "maxThreadgroupMemoryLength", kU64},
		{&s.maxThreadsPerThreadgroup, "maxThreadsPerThreadgroup", kSize},
		{&s.maxBufferLength, "maxBufferLength", kU64},
		{&s.newCommandQueue, "newCommandQueue", kID},
		{&s.newLibraryWithSourceOptionsError, "newLibraryWithSource:options:error:", kIDIDIDErr},
		{&s.newComputePipelineStateWithFunctionError, "newComputePipelineStateWithFunction:error:", kIDIDErr},
		{&s.newBufferWithLengthOptions, "newBufferWithLength:options:", kIDU64U64},

		{&s.setLanguageVersion, "setLanguageVersion:", kVU64},
		{&s.languageVersion, "languageVersion", kU64},
		{&s.setMathMode, "setMathMode:", kVU64},
		{&s.setFastMathEnabled, "setFastMathEnabled:", kVBool},

		{&s.newFunctionWithName, "newFunctionWithName:", kIDID},
		{&s.maxTotalThreadsPerThreadgroup, "maxTotalThreadsPerThreadgroup", kU64},
		{&s.threadExecutionWidth, "threadExecutionWidth", kU64},
		{&s.staticThreadgroupMemoryLength, "staticThreadgroupMemoryLength", kU64},
		{&s.contents, "contents", kPtr},

		{&s.commandBuffer, "commandBuffer", kID},
		{&s.computeCommandEncoder, "computeCommandEncoder", kID},
		{&s.commit, "commit", kV},
		{&s.waitUntilCompleted, "waitUntilCompleted", kV},
		{&s.status, "status", kU64},
		{&s.errorSel, "error", kID},
		{&s.gpuStartTime, "GPUStartTime", kF64},
		{&s.gpuEndTime, "GPUEndTime", kF64},

		{&s.setComputePipelineState, "setComputePipelineState:", kVID},
		{&s.setBufferOffsetAtIndex, "setBuffer:offset:atIndex:", kVIDU64U64},
		{&s.setBytesLengthAtIndex, "setBytes:length:atIndex:", kVPtrU64U64},
		{&s.setThreadgroupMemoryLengthAtIndex, "setThreadgroupMemoryLength:atIndex:", kVU64U64},
		{&s.dispatchThreadgroups, "dispatchThreadgroups:threadsPerThreadgroup:", kVSizeSize},
		{&s.endEncoding, "endEncoding", kV},
	}
}

// register looks every selector up once.
func (s *selectors) register(lookup func(string) uintptr) {
	for _, e := range s.table() {
		*e.field = lookup(e.name)
	}
}

// typedSend pairs a typed send of the table with its kind.
type typedSend struct {
	fptr any // pointer to the func field
	kind sendKind
}

// typed lists every typed message send of the table.
func (s *sends) typed() []typedSend {
	return []typedSend{
		{&s.id, kID}, {&s.v, kV}, {&s.u64, kU64}, {&s.boolean, kBool},
		{&s.f64, kF64}, {&s.ptr, kPtr}, {&s.str, kStr}, {&s.size, kSize},
		{&s.idStr, kIDStr}, {&s.idID, kIDID}, {&s.idU64, kIDU64},
		{&s.boolU64, kBoolU64}, {&s.boolID, kBoolID}, {&s.vID, kVID},
		{&s.vU64, kVU64}, {&s.vBool, kVBool},
		{&s.idIDErr, kIDIDErr}, {&s.idU64U64, kIDU64U64}, {&s.vU64U64, kVU64U64},
		{&s.vSizeSize, kVSizeSize},
		{&s.idIDIDErr, kIDIDIDErr}, {&s.vIDU64U64, kVIDU64U64}, {&s.vPtrU64U64, kVPtrU64U64},
	}
}
