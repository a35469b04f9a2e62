"""Programs that write into arrays, alias them, or convert them: each is differentiated
right by reverse mode, or refused with a reason (see test_writes_and_aliases.py).

The name of each function says what reverse mode must do: ``right_*`` agrees with central
differences, ``refused_*`` raises an AutodiffError.
"""

import math

import numpy as np


def right_copyto(x):
    y = np.zeros(4)
    np.copyto(y, x)
    return np.sum(y * y)


def right_copyto_broadcast(x):
    y = np.zeros((2, 4))
    np.copyto(y, x[0])
    return np.sum(y * np.arange(8.0).reshape(2, 4))


def right_put(x):
    y = x * 1.0
    np.put(y, [0, 2], 5.0 * x[1])
    return np.sum(y * y)


def right_place_one_value(x):
    y = x * 2.0
    np.place(y, y > 1.0, 0.5)
    return np.sum(y * x)


def refused_place_values(x):
    y = x * 2.0
    np.place(y, y > 100.0, x[:1])
    return np.sum(y * x)


def refused_put_along_axis(x):
    y = x * 2.0
    np.put_along_axis(y, np.array([0]), 0.0, axis=0)
    return np.sum(y * y)


def right_fill_diagonal(x):
    y = np.outer(x, x)
    np.fill_diagonal(y, x[0])
    return np.sum(y * np.arange(16.0).reshape(4, 4))


def right_add_at(x):
    y = np.zeros(3)
    np.add.at(y, [0, 0, 1], x[:3])
    return np.sum(y * y)


def refused_multiply_at(x):
    y = x * 1.0
    np.multiply.at(y, [0, 0, 1], x[1])
    return np.sum(y * y)


def right_out_ufunc(x):
    y = np.zeros(4)
    np.multiply(x, x, out=y)
    return np.sum(y * x)


def right_out_assigned(x):
    y = np.zeros(4)
    z = np.add(x, 1.0, out=y)
    return np.sum(z * x) + y[0]


def right_out_reduction(x):
    y = np.zeros(())
    np.sum(x * x, out=y)
    return y * 1.0


def right_sort_method(x):
    y = x * 1.0
    y.sort()
    return y[0] * 3.0 + y[2]


def right_sort_method_axis(x):
    y = np.outer(x, x[::-1])
    y.sort(axis=0)
    return np.sum(y * np.arange(16.0).reshape(4, 4))


def right_fill_method(x):
    y = x * 1.0
    y.fill(2.0)
    return np.sum(y * x)


def right_setitem_method(x):
    y = x * 1.0
    y.__setitem__(0, x[1] * x[2])
    return np.sum(y * y)


def right_put_method(x):
    y = x * 1.0
    y.put([1], x[3] ** 2)
    return np.sum(y * y)


def refused_alias_then_add_in_place(x):
    y = x
    y += 1
    return np.sum(x * x)


def refused_view_then_multiply_in_place(x):
    v = x[:2]
    v *= 2
    return np.sum(x * x)


def refused_reshape_then_store(x):
    y = x.reshape(-1)
    y[0] = 0
    return np.sum(x * x)


def right_reshape_then_store_base_unread(x):
    y = x.reshape(-1)
    y[0] = 0
    return np.sum(y * y)


def refused_store_into_view_read_base(x):
    y = x * 1.0
    v = y[:2]
    v[0] = 5.0
    return np.sum(y * x)


def refused_view_read_after_base_store(x):
    y = x * 1.0
    v = y[::-1]
    y[0] = 5.0
    return np.sum(v * x)


def right_view_read_before_base_store(x):
    y = x * 1.0
    s = np.sum(y[::-1] * x)
    y[0] = s
    return np.sum(y * x)


def _store_first(y, x):
    y[0] = x[1]
    return 0.0


def refused_callee_stores_into_argument(x):
    y = x * 1.0
    _store_first(y, x)
    return np.sum(y * y)


def _add_in_place(y, x):
    y += x
    return 1.0


def refused_callee_adds_in_place(x):
    y = x * 2.0
    t = _add_in_place(y, x)
    return np.sum(y * y) * t


def _accumulate(s, v):
    s += v
    return s


def right_callee_rebinds_number(x):
    s = x[0] * 1.0
    t = _accumulate(s, x[1])
    return s * t


def right_accumulate_in_place(x):
    total = np.zeros(4)
    for i in range(3):
        total += x[i] * x
    return np.sum(total * total)


def right_number_in_place(x):
    s = x[0]
    s += x[1] * x[2]
    return s * x[3] + np.sum(x)


def right_rebind_after_alias(x):
    y = x
    y = y + 1.0
    return np.sum(x * y)


def right_print(x):
    y = np.tanh(x)
    print(end="")
    return np.sum(y)


class _Log:
    def record(self, value):
        self.value = value


_LOG = _Log()


def refused_unknown_call_may_write(x):
    y = x * 2.0
    _LOG.record(y)
    return np.sum(y)


def refused_float(x):
    return float(x[0]) * x[1]


def refused_item(x):
    return x[0].item() * x[1]


def refused_tolist(x):
    return np.sum(np.array(x.tolist()) * x)


def refused_math_sin(x):
    return math.sin(x[0]) + x[1]


def right_int_round_floor(x):
    return int(x[0] + 3.0) * x[1] + round(x[2]) * x[3] + math.floor(x[1]) * x[0]


def refused_r_(x):
    return np.sum(np.r_[x, 1.0] ** 2)


def refused_c_(x):
    return np.sum(np.c_[x, x] ** 2)


def complex_intermediate(x):
    return np.sum(np.abs(x * (1 + 2j)) ** 2)


def refused_returns_none(x):
    np.sum(x)


def refused_returns_string(x):
    return "a"


def refused_returns_bool(x):
    return np.allclose(x, 0)


def refused_masked_array(x):
    m = np.ma.masked_array(x, mask=[True, False, False, False])
    return np.sum(m * m)



def right_argmax_method_as_index(x):
    i = x.argmax()
    return x[i] * np.sum(x)


def _opaque_helper():
    return lambda values: values


_OPAQUE = _opaque_helper()


def refused_unknown_function_given_derivative(x):
    y = x * 2.0
    _ignored = _OPAQUE.__call__(y)
    return np.sum(y)



def refused_byteswap_copy(x):
    y = x.byteswap()
    return np.sum(y * x)


def refused_byteswap_in_place_unused_result(x):
    y = x * 2.0
    _unused = y.byteswap(True)
    return np.sum(y * x)


# np.asarray(y) of an array is y itself, and y.view() a view of it: reverse mode followed the
# first as a copy and did not see the second share y's memory, so the write below was lost
# for y (the gradient of sum(y * x) with y unchanged, silently).
def refused_asarray_then_write(x):
    y = x * 2.0
    z = np.asarray(y)
    z[0] = 7.0
    return np.sum(y * x)


def refused_view_method_then_write(x):
    y = x * 2.0
    z = y.view()
    z *= x
    return np.sum(y * x)


def right_asarray_read(x):
    y = x * 2.0
    z = np.asarray(y)
    return np.sum(z * y) + np.asarray(x)[1]


PROGRAMS = [value for name, value in sorted(globals().items())
            if name.startswith(("right_", "refused_"))]
