package mtl

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unsafe"
)

// fake is a recording stand-in for the Objective-C runtime and Metal. It
// simulates a small object world (ids, retain counts, autorelease pools, a
// device, libraries compiled from a toy "compiler", buffers, command buffers
// whose outcome the test sets) and records every problem a real Mac would
// turn into a leak, a crash or a silent error:
//
//   - a release of a dead object (over-release) or a message to one;
//   - an autorelease with no pool in place (a leak);
//   - pools popped out of order or on another thread than their push;
//   - a selector sent through a typed send whose argument count differs from
//     the selector's colons, or one selector sent through two kinds of send;
//   - a committed command buffer freed without status and error read after
//     waitUntilCompleted, an encoder freed without endEncoding, a commit of
//     an open encoder, encoding after endEncoding.
//
// leaks() lists every object still alive.
type fake struct {
	t        testing.TB
	objs     map[uintptr]*fobj
	classes  map[string]uintptr
	sels     map[string]uintptr
	selNames map[uintptr]string
	next     uintptr
	thread   uintptr
	pools    []fpool
	problems []string
	used     map[string]sendKind // selector name → kind of send that carried it
	trace    []string            // "Class.selector" in call order
	pushes   []uintptr           // thread of every pool push
	pops     []uintptr           // thread of every pool pop
	encoders []*fobj             // every compute encoder made, in order

	// The simulated machine.
	loadErr          error
	family           int  // highest Apple GPU family, 0 for an Intel Mac (Mac2)
	noDefaultDevice  bool // MTLCreateSystemDefaultDevice returns nil
	allDevices       int  // devices in MTLCopyAllDevices
	respondsMathMode bool // macOS 15+: MTLCompileOptions has setMathMode:
	langVersionCap   uint64
	maxBufferLength  uint64
	oomAbove         uint64  // newBufferWithLength: returns nil above this
	gpuError         string  // command buffers fail with this NSError message
	gpuStatusOnly    bool    // fail with status 5 but no NSError
	staticTG         uint64  // staticThreadgroupMemoryLength of every pipeline
	pipelineFails    string  // kernel name whose pipeline creation fails
	compileMessage   *string // overrides the compiler's message
}

type fobj struct {
	id       uintptr
	class    string
	rc       int
	dead     bool
	children []uintptr // owned objects, released at dealloc
	text     string    // NSString
	nums     map[string]uint64
	funcs    map[string]bool // MTLLibrary: kernel names
	mem      []byte          // MTLBuffer
	cmds     []string        // MTLComputeCommandEncoder: what was encoded
	// MTLCommandBuffer / encoder state
	enc                                                 uintptr
	ended, committed, waited, statusRead, errorRead     bool
	status                                              uint64
	errObj                                              uintptr
	statusBeforeWait, errorBeforeWait, commitBeforeDone bool
}

type fpool struct {
	token, thread uintptr
	objs          []uintptr
}

func newFake(t testing.TB) *fake {
	f := &fake{
		t:                t,
		objs:             map[uintptr]*fobj{},
		classes:          map[string]uintptr{},
		sels:             map[string]uintptr{},
		selNames:         map[uintptr]string{},
		next:             0x1000,
		thread:           0x7001,
		used:             map[string]sendKind{},
		family:           8,
		allDevices:       1,
		respondsMathMode: true,
		langVersionCap:   languageVersion3_0 + 2, // MSL 3.2, macOS 15
		maxBufferLength:  1 << 30,
		oomAbove:         1 << 29,
	}
	for _, c := range []string{"NSString", "MTLCompileOptions"} {
		f.classes[c] = f.alloc()
	}
	return f
}

func (f *fake) alloc() uintptr {
	f.next += 0x10
	return f.next
}

func (f *fake) problem(format string, args ...any) {
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
}

// newObj makes an object with retain count 1.
func (f *fake) newObj(class string) *fobj {
	o := &fobj{id: f.alloc(), class: class, rc: 1, nums: map[string]uint64{}}
	f.objs[o.id] = o
	return o
}

// autoreleased makes an object owned by the innermost pool.
func (f *fake) autoreleased(class string) *fobj {
	o := f.newObj(class)
	if len(f.pools) == 0 {
		f.problem("%s autoreleased with no autorelease pool in place (leaks)", class)
		return o
	}
	p := &f.pools[len(f.pools)-1]
	p.objs = append(p.objs, o.id)
	return o
}

func (f *fake) str(text string) *fobj {
	o := f.autoreleased("NSString")
	o.text = text
	return o
}

// owned makes an object held by parent (a +0 property result).
func (f *fake) owned(parent *fobj, class string) *fobj {
	o := f.newObj(class)
	parent.children = append(parent.children, o.id)
	return o
}

func (f *fake) release(id uintptr) {
	o, ok := f.objs[id]
	if !ok {
		f.problem("release of unknown object %#x", id)
		return
	}
	if o.dead || o.rc <= 0 {
		f.problem("over-release of %s %#x", o.class, id)
		return
	}
	o.rc--
	if o.rc > 0 {
		return
	}
	o.dead = true
	switch o.class {
	case "MTLCommandBuffer":
		if o.committed && !(o.waited && o.statusRead && o.errorRead) {
			f.problem("command buffer %#x freed without status and error read after waitUntilCompleted (waited %v, status %v, error %v)",
				id, o.waited, o.statusRead, o.errorRead)
		}
	case "MTLComputeCommandEncoder":
		if !o.ended {
			f.problem("compute encoder %#x freed without endEncoding", id)
		}
	}
	for _, c := range o.children {
		f.release(c)
	}
}

// leaks lists the objects still alive.
func (f *fake) leaks() []string {
	var out []string
	for _, o := range f.objs {
		if !o.dead {
			out = append(out, fmt.Sprintf("%s %#x (retain count %d)", o.class, o.id, o.rc))
		}
	}
	return out
}

// sends returns a send table backed by the fake.
func (f *fake) sends() *sends {
	return &sends{
		load: func() error { return f.loadErr },
		sel: func(name string) uintptr {
			if s, ok := f.sels[name]; ok {
				return s
			}
			s := f.alloc()
			f.sels[name], f.selNames[s] = s, name
			return s
		},
		class: func(name string) uintptr { return f.classes[name] },
		createSystemDefaultDevice: func() uintptr {
			if f.noDefaultDevice {
				return 0
			}
			return f.device().id
		},
		copyAllDevices: func() uintptr {
			arr := f.newObj("NSArray")
			for range f.allDevices {
				d := f.device()
				arr.children = append(arr.children, d.id) // the array's reference
			}
			return arr.id
		},
		poolPush: func() uintptr {
			tok := f.alloc()
			f.pools = append(f.pools, fpool{token: tok, thread: f.thread})
			f.pushes = append(f.pushes, f.thread)
			return tok
		},
		poolPop: func(tok uintptr) {
			f.pops = append(f.pops, f.thread)
			n := len(f.pools)
			if n == 0 || f.pools[n-1].token != tok {
				f.problem("pool %#x popped out of order", tok)
				return
			}
			p := f.pools[n-1]
			if p.thread != f.thread {
				f.problem("pool %#x pushed on thread %#x popped on %#x", tok, p.thread, f.thread)
			}
			f.pools = f.pools[:n-1]
			for _, id := range p.objs {
				f.release(id)
			}
		},
		threadID: func() uintptr { return f.thread },

		id:      func(o, s uintptr) uintptr { return f.msg(o, s, kID).(uintptr) },
		v:       func(o, s uintptr) { f.msg(o, s, kV) },
		u64:     func(o, s uintptr) uint64 { return f.msg(o, s, kU64).(uint64) },
		boolean: func(o, s uintptr) bool { return f.msg(o, s, kBool).(bool) },
		f64:     func(o, s uintptr) float64 { return f.msg(o, s, kF64).(float64) },
		ptr:     func(o, s uintptr) unsafe.Pointer { return f.msg(o, s, kPtr).(unsafe.Pointer) },
		str:     func(o, s uintptr) string { return f.msg(o, s, kStr).(string) },
		size:    func(o, s uintptr) MTLSize { return f.msg(o, s, kSize).(MTLSize) },

		idStr:   func(o, s uintptr, a string) uintptr { return f.msg(o, s, kIDStr, a).(uintptr) },
		idID:    func(o, s, a uintptr) uintptr { return f.msg(o, s, kIDID, a).(uintptr) },
		idU64:   func(o, s uintptr, a uint64) uintptr { return f.msg(o, s, kIDU64, a).(uintptr) },
		boolU64: func(o, s uintptr, a uint64) bool { return f.msg(o, s, kBoolU64, a).(bool) },
		boolID:  func(o, s, a uintptr) bool { return f.msg(o, s, kBoolID, a).(bool) },
		vID:     func(o, s, a uintptr) { f.msg(o, s, kVID, a) },
		vU64:    func(o, s uintptr, a uint64) { f.msg(o, s, kVU64, a) },
		vBool:   func(o, s uintptr, a bool) { f.msg(o, s, kVBool, a) },

		idIDErr:   func(o, s, a uintptr, e *uintptr) uintptr { return f.msg(o, s, kIDIDErr, a, e).(uintptr) },
		idU64U64:  func(o, s uintptr, a, b uint64) uintptr { return f.msg(o, s, kIDU64U64, a, b).(uintptr) },
		vU64U64:   func(o, s uintptr, a, b uint64) { f.msg(o, s, kVU64U64, a, b) },
		vSizeSize: func(o, s uintptr, a, b MTLSize) { f.msg(o, s, kVSizeSize, a, b) },

		idIDIDErr:  func(o, s, a, b uintptr, e *uintptr) uintptr { return f.msg(o, s, kIDIDIDErr, a, b, e).(uintptr) },
		vIDU64U64:  func(o, s, a uintptr, b, c uint64) { f.msg(o, s, kVIDU64U64, a, b, c) },
		vPtrU64U64: func(o, s uintptr, p unsafe.Pointer, n, i uint64) { f.msg(o, s, kVPtrU64U64, p, n, i) },
	}
}

// device makes a +1 MTLDevice with an owned name.
func (f *fake) device() *fobj {
	d := f.newObj("MTLDevice")
	f.owned(d, "NSString").text = fmt.Sprintf("Apple M%d (fake)", max(f.family-6, 0))
	d.nums["nameObj"] = uint64(d.children[0])
	return d
}

// zero is the zero result of each kind of send.
func zero(k sendKind) any {
	switch k {
	case kID, kIDStr, kIDID, kIDU64, kIDIDErr, kIDU64U64, kIDIDIDErr:
		return uintptr(0)
	case kU64:
		return uint64(0)
	case kBool, kBoolU64, kBoolID:
		return false
	case kF64:
		return 0.0
	case kPtr:
		return unsafe.Pointer(nil)
	case kStr:
		return ""
	case kSize:
		return MTLSize{}
	}
	return nil
}

func (f *fake) className(id uintptr) (string, bool) {
	for name, c := range f.classes {
		if c == id {
			return name, true
		}
	}
	return "", false
}

// msg checks and records one message send, then simulates it.
func (f *fake) msg(obj, sel uintptr, kind sendKind, args ...any) any {
	name, ok := f.selNames[sel]
	if !ok {
		f.problem("unregistered selector %#x", sel)
		return zero(kind)
	}
	if c := strings.Count(name, ":"); c != kind.arity() || len(args) != c {
		f.problem("selector %q has %d colons but was sent with %s (%d arguments)", name, c, kind, kind.arity())
	}
	if prev, ok := f.used[name]; ok && prev != kind {
		f.problem("selector %q sent as both %s and %s", name, prev, kind)
	}
	f.used[name] = kind
	if obj == 0 {
		f.problem("%s sent to nil", name)
		return zero(kind)
	}
	if cls, isClass := f.className(obj); isClass {
		f.trace = append(f.trace, cls+"."+name)
		return f.classMsg(cls, name, kind, args)
	}
	o, ok := f.objs[obj]
	if ok && o.dead && name == "release" {
		f.problem("over-release of %s %#x", o.class, obj)
		return zero(kind)
	}
	if !ok || o.dead {
		f.problem("%s sent to a freed or unknown object %#x", name, obj)
		return zero(kind)
	}
	f.trace = append(f.trace, o.class+"."+name)
	r := f.objMsg(o, name, args)
	if z := zero(kind); r == nil || fmt.Sprintf("%T", r) != fmt.Sprintf("%T", z) {
		if r != nil {
			f.problem("-[%s %s] returns %T, but was sent with %s", o.class, name, r, kind)
		}
		return z
	}
	return r
}

func (f *fake) classMsg(cls, name string, kind sendKind, args []any) any {
	switch {
	case cls == "MTLCompileOptions" && name == "new":
		o := f.newObj("MTLCompileOptions")
		o.nums["languageVersion"] = languageVersion3_0 - 0x10000 + 4 // a lower default (2.4)
		o.nums["fastMathEnabled"] = 1                                // Metal's default
		o.nums["mathMode"] = 2                                       // MTLMathModeFast
		return o.id
	case cls == "NSString" && name == "stringWithUTF8String:":
		return f.str(args[0].(string)).id
	}
	f.problem("unexpected class message +[%s %s]", cls, name)
	return zero(kind)
}

var (
	lineDirective = regexp.MustCompile(`^#line (\d+) "([^"]*)"$`)
	kernelDecl    = regexp.MustCompile(`kernel\s+void\s+(\w+)\s*\(`)
)

// compile is the fake compiler: it follows #line directives, fails on a line
// containing COMPILE_ERROR (the message names file and line like clang), and
// finds kernel declarations.
func (f *fake) compile(src string) (funcs map[string]bool, msg string) {
	funcs = map[string]bool{}
	file, line := "program_source", 1
	for _, l := range strings.Split(src, "\n") {
		if m := lineDirective.FindStringSubmatch(l); m != nil {
			file = m[2]
			line, _ = strconv.Atoi(m[1])
			continue
		}
		if c := strings.Index(l, "COMPILE_ERROR"); c >= 0 && msg == "" {
			msg = fmt.Sprintf("%s:%d:%d: error: use of undeclared identifier 'COMPILE_ERROR'", file, line, c+1)
		}
		for _, m := range kernelDecl.FindAllStringSubmatch(l, -1) {
			funcs[m[1]] = true
		}
		line++
	}
	if msg != "" {
		msg = "Compilation failed: \n\n" + msg
		if f.compileMessage != nil {
			msg = *f.compileMessage
		}
	}
	return funcs, msg
}

func (f *fake) nsError(msg string) *fobj {
	e := f.autoreleased("NSError")
	e.text = msg
	return e
}

func (f *fake) objArg(a any, want string) *fobj {
	o, ok := f.objs[a.(uintptr)]
	if !ok || o.dead {
		f.problem("argument %#x of class %s is freed or unknown", a, want)
		return &fobj{nums: map[string]uint64{}}
	}
	if o.class != want {
		f.problem("argument %#x is a %s, want %s", a, o.class, want)
	}
	return o
}

func (f *fake) objMsg(o *fobj, name string, args []any) any {
	u := func(i int) uint64 { return args[i].(uint64) }
	switch o.class + "." + name {
	// NSObject
	case o.class + ".retain":
		o.rc++
		return o.id
	case o.class + ".release":
		f.release(o.id)
		return nil
	case "MTLCompileOptions.respondsToSelector:":
		s := f.selNames[args[0].(uintptr)]
		return s != "setMathMode:" || f.respondsMathMode
	// Foundation
	case "NSString.UTF8String":
		return o.text
	case "NSError.localizedDescription":
		return f.str(o.text).id
	case "NSArray.count":
		return uint64(len(o.children))
	case "NSArray.objectAtIndex:":
		return o.children[u(0)]
	// MTLDevice
	case "MTLDevice.name":
		return uintptr(o.nums["nameObj"])
	case "MTLDevice.supportsFamily:":
		fam := int(u(0))
		if fam == gpuFamilyMac2 {
			return f.family == 0
		}
		return fam >= gpuFamilyApple1 && fam <= gpuFamilyApple1+f.family-1
	case "MTLDevice.hasUnifiedMemory":
		return true
	case "MTLDevice.maxThreadgroupMemoryLength":
		return uint64(32768)
	case "MTLDevice.maxThreadsPerThreadgroup":
		return MTLSize{1024, 1024, 1024}
	case "MTLDevice.maxBufferLength":
		return f.maxBufferLength
	case "MTLDevice.newCommandQueue":
		return f.newObj("MTLCommandQueue").id
	case "MTLDevice.newLibraryWithSource:options:error:":
		src := f.objArg(args[0], "NSString")
		opts := f.objArg(args[1], "MTLCompileOptions")
		funcs, msg := f.compile(src.text)
		if msg != "" {
			*args[2].(*uintptr) = f.nsError(msg).id
			return uintptr(0)
		}
		lib := f.newObj("MTLLibrary")
		lib.funcs = funcs
		for k, v := range opts.nums {
			lib.nums[k] = v // what the library was compiled with
		}
		return lib.id
	case "MTLDevice.newComputePipelineStateWithFunction:error:":
		fn := f.objArg(args[0], "MTLFunction")
		if fn.text == f.pipelineFails {
			*args[1].(*uintptr) = f.nsError("Compiler encountered an internal error").id
			return uintptr(0)
		}
		p := f.newObj("MTLComputePipelineState")
		p.text = fn.text
		return p.id
	case "MTLDevice.newBufferWithLength:options:":
		if u(1) != resourceStorageModeShared {
			f.problem("buffer options %#x, want shared storage", u(1))
		}
		if u(0) == 0 || u(0) > f.oomAbove {
			return uintptr(0)
		}
		b := f.newObj("MTLBuffer")
		b.mem = make([]byte, u(0))
		return b.id
	// MTLCompileOptions
	case "MTLCompileOptions.setLanguageVersion:":
		if u(0) <= f.langVersionCap {
			o.nums["languageVersion"] = u(0)
		}
		return nil
	case "MTLCompileOptions.languageVersion":
		return o.nums["languageVersion"]
	case "MTLCompileOptions.setMathMode:":
		if !f.respondsMathMode {
			f.problem("setMathMode: sent although the options do not respond to it (unrecognized selector)")
		}
		o.nums["mathMode"] = u(0)
		return nil
	case "MTLCompileOptions.setFastMathEnabled:":
		o.nums["fastMathEnabled"] = 0
		if args[0].(bool) {
			o.nums["fastMathEnabled"] = 1
		}
		return nil
	// MTLLibrary, pipeline, buffer
	case "MTLLibrary.newFunctionWithName:":
		n := f.objArg(args[0], "NSString").text
		if !o.funcs[n] {
			return uintptr(0)
		}
		fn := f.newObj("MTLFunction")
		fn.text = n
		return fn.id
	case "MTLComputePipelineState.maxTotalThreadsPerThreadgroup":
		return uint64(1024)
	case "MTLComputePipelineState.threadExecutionWidth":
		return uint64(32)
	case "MTLComputePipelineState.staticThreadgroupMemoryLength":
		return f.staticTG
	case "MTLBuffer.contents":
		return unsafe.Pointer(&o.mem[0])
	// Command queue and buffer
	case "MTLCommandQueue.commandBuffer":
		cb := f.autoreleased("MTLCommandBuffer")
		cb.status = 0
		return cb.id
	case "MTLCommandBuffer.computeCommandEncoder":
		if o.enc != 0 {
			f.problem("second encoder on command buffer %#x", o.id)
		}
		e := f.autoreleased("MTLComputeCommandEncoder")
		o.enc = e.id
		f.encoders = append(f.encoders, e)
		return e.id
	case "MTLCommandBuffer.commit":
		if e := f.objs[o.enc]; e != nil && !e.ended {
			f.problem("commit with the compute encoder still open")
		}
		if o.committed {
			f.problem("command buffer committed twice")
		}
		o.committed, o.status = true, 2
		return nil
	case "MTLCommandBuffer.waitUntilCompleted":
		if !o.committed {
			f.problem("waitUntilCompleted on an uncommitted command buffer")
		}
		o.waited = true
		o.status = commandBufferStatusCompleted
		if f.gpuError != "" || f.gpuStatusOnly {
			o.status = commandBufferStatusError
		}
		if f.gpuError != "" {
			e := f.owned(o, "NSError")
			e.text = f.gpuError
			o.errObj = e.id
		}
		return nil
	case "MTLCommandBuffer.status":
		if o.waited {
			o.statusRead = true
		}
		return o.status
	case "MTLCommandBuffer.error":
		if o.waited {
			o.errorRead = true
		}
		return o.errObj
	case "MTLCommandBuffer.GPUStartTime":
		if !o.waited {
			return 0.0
		}
		return 100.5
	case "MTLCommandBuffer.GPUEndTime":
		if !o.waited {
			return 0.0
		}
		return 100.75
	// Encoder
	case "MTLComputeCommandEncoder.endEncoding":
		if o.ended {
			f.problem("endEncoding twice")
		}
		o.ended = true
		return nil
	case "MTLComputeCommandEncoder.setComputePipelineState:":
		f.encode(o, "pipeline %s", f.objArg(args[0], "MTLComputePipelineState").text)
		return nil
	case "MTLComputeCommandEncoder.setBuffer:offset:atIndex:":
		b := f.objArg(args[0], "MTLBuffer")
		f.encode(o, "buffer %#x offset %d index %d", b.id, u(1), u(2))
		return nil
	case "MTLComputeCommandEncoder.setBytes:length:atIndex:":
		p := args[0].(unsafe.Pointer)
		f.encode(o, "bytes %x index %d", unsafe.Slice((*byte)(p), u(1)), u(2))
		return nil
	case "MTLComputeCommandEncoder.setThreadgroupMemoryLength:atIndex:":
		if u(0)%16 != 0 {
			f.problem("threadgroup memory length %d is not a multiple of 16", u(0))
		}
		f.encode(o, "threadgroup %d index %d", u(0), u(1))
		return nil
	case "MTLComputeCommandEncoder.dispatchThreadgroups:threadsPerThreadgroup:":
		f.encode(o, "dispatch %v %v", args[0].(MTLSize), args[1].(MTLSize))
		return nil
	}
	f.problem("unexpected message -[%s %s]", o.class, name)
	return nil
}

func (f *fake) encode(enc *fobj, format string, args ...any) {
	if enc.ended {
		f.problem("encoding after endEncoding")
	}
	enc.cmds = append(enc.cmds, fmt.Sprintf(format, args...))
}

// alive reports whether an object exists and is not freed.
func (f *fake) alive(id uintptr) bool {
	o, ok := f.objs[id]
	return ok && !o.dead
}

// count returns how many objects of a class were ever made.
func (f *fake) count(class string) int {
	n := 0
	for _, o := range f.objs {
		if o.class == class {
			n++
		}
	}
	return n
}
