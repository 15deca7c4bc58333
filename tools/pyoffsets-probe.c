/* Prints, as one C initializer, the layout facts the shim's Python frame
 * walker needs (preload/pyframes.c), measured with offsetof() against one
 * CPython's own headers. Built and run by tools/gen-pyoffsets, once per
 * interpreter, never by hand:
 *   cc -DPy_BUILD_CORE -I$inc -I$inc/internal tools/pyoffsets-probe.c
 * Release builds of 3.10-3.13 (not free-threaded) on x86-64.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <structmember.h> /* PyMemberDef before 3.12 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#if PY_MAJOR_VERSION != 3 || PY_MINOR_VERSION < 10 || PY_MINOR_VERSION > 13
#error "the walker knows CPython 3.10 to 3.13"
#endif
#ifdef Py_GIL_DISABLED
#error "free-threaded builds are not supported"
#endif

#if PY_MINOR_VERSION == 10
#include <frameobject.h>
#else
#include "internal/pycore_frame.h"
#endif
#include "internal/pycore_runtime.h"

#define OFF(type, field) ((unsigned)offsetof(type, field))

/* The bits of a str's state bitfield, found by setting each field in a
 * zeroed object and seeing which bits of the word change. */
static unsigned state_mask(int which)
{
	PyASCIIObject o;
	memset(&o, 0, sizeof(o));
	if (which == 0)
		o.state.kind = 7;
	else if (which == 1)
		o.state.compact = 1;
	else
		o.state.ascii = 1;
	unsigned w;
	memcpy(&w, (char *)&o + offsetof(PyASCIIObject, state), sizeof(w));
	return w;
}

int main(void)
{
	printf("\t{\n");
	printf("\t\t.version = 0x%x, /* %s */\n", PY_VERSION_HEX >> 16, PY_VERSION);
	printf("\t\t.rt_finalizing = %u,\n", OFF(_PyRuntimeState, _finalizing));
	/* The key of the thread-specific slot that holds each thread's own
	 * state (PyGILState_GetThisThreadState reads it) */
#if PY_MINOR_VERSION <= 11
	printf("\t\t.rt_autotss = %u,\n", OFF(_PyRuntimeState, gilstate.autoTSSkey));
#else
	printf("\t\t.rt_autotss = %u,\n", OFF(_PyRuntimeState, autoTSSkey));
#endif
	printf("\t\t.tss_initialized = %u,\n", OFF(Py_tss_t, _is_initialized));
	printf("\t\t.tss_key = %u,\n", OFF(Py_tss_t, _key));
#if PY_MINOR_VERSION == 10
	printf("\t\t.ts_frame = %u, /* PyThreadState.frame: a PyFrameObject */\n",
	       OFF(PyThreadState, frame));
	printf("\t\t.cf_current = 0xffff,\n");
#elif PY_MINOR_VERSION <= 12
	printf("\t\t.ts_frame = %u, /* PyThreadState.cframe */\n", OFF(PyThreadState, cframe));
	printf("\t\t.cf_current = %u, /* _PyCFrame.current_frame */\n",
	       OFF(_PyCFrame, current_frame));
#else
	printf("\t\t.ts_frame = %u, /* PyThreadState.current_frame */\n",
	       OFF(PyThreadState, current_frame));
	printf("\t\t.cf_current = 0xffff,\n");
#endif
	printf("\t\t.ts_thread_id = %u,\n", OFF(PyThreadState, thread_id));
#if PY_MINOR_VERSION == 10
	printf("\t\t.fr_code = %u,\n", OFF(PyFrameObject, f_code));
	printf("\t\t.fr_previous = %u,\n", OFF(PyFrameObject, f_back));
	printf("\t\t.fr_instr = %u, /* f_lasti, an int: the instruction index */\n",
	       OFF(PyFrameObject, f_lasti));
	printf("\t\t.fr_owner = 0xffff,\n");
	printf("\t\t.fr_is_entry = 0xffff,\n");
	printf("\t\t.owned_by_generator = 0xff,\n");
	printf("\t\t.owned_by_cstack = 0xff,\n");
#else
#if PY_MINOR_VERSION <= 12
	printf("\t\t.fr_code = %u,\n", OFF(_PyInterpreterFrame, f_code));
	printf("\t\t.fr_instr = %u, /* prev_instr */\n", OFF(_PyInterpreterFrame, prev_instr));
#else
	printf("\t\t.fr_code = %u, /* f_executable: a code object or None */\n",
	       OFF(_PyInterpreterFrame, f_executable));
	printf("\t\t.fr_instr = %u, /* instr_ptr */\n", OFF(_PyInterpreterFrame, instr_ptr));
#endif
	printf("\t\t.fr_previous = %u,\n", OFF(_PyInterpreterFrame, previous));
	printf("\t\t.fr_owner = %u,\n", OFF(_PyInterpreterFrame, owner));
#if PY_MINOR_VERSION == 11
	printf("\t\t.fr_is_entry = %u,\n", OFF(_PyInterpreterFrame, is_entry));
	printf("\t\t.owned_by_cstack = 0xff,\n");
#else
	printf("\t\t.fr_is_entry = 0xffff,\n");
	printf("\t\t.owned_by_cstack = %d,\n", FRAME_OWNED_BY_CSTACK);
#endif
	printf("\t\t.owned_by_generator = %d,\n", FRAME_OWNED_BY_GENERATOR);
#endif
	printf("\t\t.co_firstlineno = %u,\n", OFF(PyCodeObject, co_firstlineno));
	printf("\t\t.co_filename = %u,\n", OFF(PyCodeObject, co_filename));
	printf("\t\t.co_name = %u,\n", OFF(PyCodeObject, co_name));
#if PY_MINOR_VERSION == 10
	printf("\t\t.co_qualname = 0xffff,\n");
	printf("\t\t.co_firsttraceable = 0xffff,\n");
	printf("\t\t.co_code = 0xffff,\n");
	printf("\t\t.co_basicsize = %u,\n", (unsigned)sizeof(PyCodeObject));
#else
	printf("\t\t.co_qualname = %u,\n", OFF(PyCodeObject, co_qualname));
	printf("\t\t.co_firsttraceable = %u,\n", OFF(PyCodeObject, _co_firsttraceable));
	printf("\t\t.co_code = %u, /* co_code_adaptive */\n", OFF(PyCodeObject, co_code_adaptive));
	printf("\t\t.co_basicsize = %u,\n", OFF(PyCodeObject, co_code_adaptive));
#endif
	printf("\t\t.co_linetable = %u,\n", OFF(PyCodeObject, co_linetable));
	printf("\t\t.ob_type = %u,\n", OFF(PyObject, ob_type));
	printf("\t\t.var_size = %u,\n", OFF(PyVarObject, ob_size));
	printf("\t\t.bytes_data = %u,\n", OFF(PyBytesObject, ob_sval));
	printf("\t\t.str_length = %u,\n", OFF(PyASCIIObject, length));
	printf("\t\t.str_state = %u,\n", OFF(PyASCIIObject, state));
	printf("\t\t.str_ascii_data = %u,\n", (unsigned)sizeof(PyASCIIObject));
	printf("\t\t.str_compact_data = %u,\n", (unsigned)sizeof(PyCompactUnicodeObject));
	printf("\t\t.str_kind_mask = 0x%x,\n", state_mask(0));
	printf("\t\t.str_compact_mask = 0x%x,\n", state_mask(1));
	printf("\t\t.str_ascii_mask = 0x%x,\n", state_mask(2));
	printf("\t\t.tp_basicsize = %u,\n", OFF(PyTypeObject, tp_basicsize));
	printf("\t\t.tp_members = %u,\n", OFF(PyTypeObject, tp_members));
	printf("\t\t.md_size = %u,\n", (unsigned)sizeof(PyMemberDef));
	printf("\t\t.md_offset = %u,\n", OFF(PyMemberDef, offset));
#if PY_MINOR_VERSION >= 13
	printf("\t\t.dbg_size = %u, /* _Py_DebugOffsets, at _PyRuntime + 0 */\n",
	       (unsigned)sizeof(_Py_DebugOffsets));
	printf("\t\t.dbg_version = %u,\n", OFF(_Py_DebugOffsets, version));
	printf("\t\t.dbg_free_threaded = %u,\n", OFF(_Py_DebugOffsets, free_threaded));
	printf("\t\t.dbg_finalizing = %u,\n", OFF(_Py_DebugOffsets, runtime_state.finalizing));
	printf("\t\t.dbg_ts_frame = %u,\n", OFF(_Py_DebugOffsets, thread_state.current_frame));
	printf("\t\t.dbg_ts_thread_id = %u,\n", OFF(_Py_DebugOffsets, thread_state.thread_id));
	printf("\t\t.dbg_fr_previous = %u,\n", OFF(_Py_DebugOffsets, interpreter_frame.previous));
	printf("\t\t.dbg_fr_code = %u,\n", OFF(_Py_DebugOffsets, interpreter_frame.executable));
	printf("\t\t.dbg_fr_instr = %u,\n", OFF(_Py_DebugOffsets, interpreter_frame.instr_ptr));
	printf("\t\t.dbg_fr_owner = %u,\n", OFF(_Py_DebugOffsets, interpreter_frame.owner));
	printf("\t\t.dbg_co_filename = %u,\n", OFF(_Py_DebugOffsets, code_object.filename));
	printf("\t\t.dbg_co_name = %u,\n", OFF(_Py_DebugOffsets, code_object.name));
	printf("\t\t.dbg_co_qualname = %u,\n", OFF(_Py_DebugOffsets, code_object.qualname));
	printf("\t\t.dbg_co_linetable = %u,\n", OFF(_Py_DebugOffsets, code_object.linetable));
	printf("\t\t.dbg_co_firstlineno = %u,\n", OFF(_Py_DebugOffsets, code_object.firstlineno));
	printf("\t\t.dbg_co_code = %u,\n", OFF(_Py_DebugOffsets, code_object.co_code_adaptive));
#endif
	printf("\t},\n");
	return 0;
}
