//! Values between Rust and RustPython without Python's `json` (issue 15): the event goes in as
//! Python objects built here, and a handler's plain result comes out as `json.dumps` would write
//! it. RustPython's `json` is pure Python (its encoder ~0.25 ms for a small dict, its decoder
//! ~30 µs for a tiny event), which was most of a Python run's cost.
//!
//! Only plain data is written here: exact `dict` with `str` keys, `list`, `tuple`, `str`, `int`,
//! finite `float`, `bool` and `None`, nested at most [`PLAIN_DEPTH`] deep. Anything else (a
//! subclass, a non-string key, NaN, a cycle) is left to `json.dumps`, so its output and its
//! errors stay Python's own.

use rustpython_vm::builtins::{PyDict, PyFloat, PyInt, PyList, PyStr, PyTuple};
use rustpython_vm::{AsObject, PyObject, PyObjectRef, VirtualMachine};
use serde_json::Value;

use crate::jsonfmt;

/// Deeper than this, `json.dumps` takes over (and finds a cycle, if that is why).
const PLAIN_DEPTH: usize = 100;
/// Python refuses to print longer ints (`sys.set_int_max_str_digits`); `json.dumps` says so.
const INT_MAX_DIGITS: usize = 4300;

/// The Python object `json.loads` would give for `value`'s JSON text.
pub(super) fn to_python(value: &Value, vm: &VirtualMachine) -> PyObjectRef {
    match value {
        Value::Null => vm.ctx.none(),
        Value::Bool(b) => vm.ctx.new_bool(*b).into(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                vm.ctx.new_int(i).into()
            } else if let Some(u) = n.as_u64() {
                vm.ctx.new_int(u).into()
            } else {
                vm.ctx.new_float(n.as_f64().unwrap_or(f64::NAN)).into()
            }
        }
        Value::String(s) => vm.ctx.new_str(s.as_str()).into(),
        Value::Array(items) => vm
            .ctx
            .new_list(items.iter().map(|v| to_python(v, vm)).collect())
            .into(),
        Value::Object(map) => {
            let dict = vm.ctx.new_dict();
            for (k, v) in map {
                // A fresh dict with string keys: setting an item cannot fail.
                let _ = dict.set_item(k.as_str(), to_python(v, vm), vm);
            }
            dict.into()
        }
    }
}

/// `json.dumps(obj)` when `obj` is plain data, else `None`.
pub(super) fn plain_json(obj: &PyObject, vm: &VirtualMachine) -> Option<String> {
    let mut out = String::with_capacity(64);
    write_plain(obj, vm, 0, &mut out).then_some(out)
}

fn write_plain(obj: &PyObject, vm: &VirtualMachine, depth: usize, out: &mut String) -> bool {
    if depth > PLAIN_DEPTH {
        return false;
    }
    if vm.is_none(obj) {
        out.push_str("null");
    } else if obj.is(&vm.ctx.true_value) {
        out.push_str("true");
    } else if obj.is(&vm.ctx.false_value) {
        out.push_str("false");
    } else if let Some(s) = obj.downcast_ref_if_exact::<PyStr>(vm) {
        // A str holding a lone surrogate has no UTF-8 form: json.dumps escapes it.
        let Some(text) = s.to_str() else { return false };
        out.push_str(&jsonfmt::python_string(text));
    } else if let Some(i) = obj.downcast_ref_if_exact::<PyInt>(vm) {
        let digits = i.as_bigint().to_string();
        if digits.trim_start_matches('-').len() > INT_MAX_DIGITS {
            return false;
        }
        out.push_str(&digits);
    } else if let Some(f) = obj.downcast_ref_if_exact::<PyFloat>(vm) {
        let f = f.to_f64();
        if !f.is_finite() {
            return false;
        }
        out.push_str(&jsonfmt::python_float_repr(f));
    } else if let Some(list) = obj.downcast_ref_if_exact::<PyList>(vm) {
        let items: Vec<PyObjectRef> = list.borrow_vec().to_vec();
        return write_items(&items, vm, depth, out);
    } else if let Some(tuple) = obj.downcast_ref_if_exact::<PyTuple>(vm) {
        return write_items(tuple, vm, depth, out);
    } else if let Some(dict) = obj.downcast_ref_if_exact::<PyDict>(vm) {
        out.push('{');
        for (n, (k, v)) in dict.into_iter().enumerate() {
            let Some(key) = k
                .downcast_ref_if_exact::<PyStr>(vm)
                .and_then(|s| s.to_str())
            else {
                return false;
            };
            if n > 0 {
                out.push_str(", ");
            }
            out.push_str(&jsonfmt::python_string(key));
            out.push_str(": ");
            if !write_plain(&v, vm, depth + 1, out) {
                return false;
            }
        }
        out.push('}');
    } else {
        return false;
    }
    true
}

fn write_items(items: &[PyObjectRef], vm: &VirtualMachine, depth: usize, out: &mut String) -> bool {
    out.push('[');
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        if !write_plain(item, vm, depth + 1, out) {
            return false;
        }
    }
    out.push(']');
    true
}
