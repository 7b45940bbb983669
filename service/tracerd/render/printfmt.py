"""The `print fmt:` language of tracefs format files, evaluated as libtraceevent does.

A print fmt is a C format string and C expressions over the record: `REC->field`, casts,
arithmetic, comparisons, ternaries, and the kernel's helpers (`__print_flags`,
`__print_symbolic`, `__print_hex`, `__print_hex_str`, `__print_array`, `__get_str`,
`__get_bitmask`, `__get_cpumask`, `__get_dynamic_array`, `__get_dynamic_array_len`,
`__get_sockaddr`, their `_rel_`/`_u64` variants, `sizeof`, `__builtin_expect`).

`compile_print_fmt(text, widths)` parses it once into closures (`Body`): a call renders the
decoded fields of one record. `widths` gives the bytes of one value of array fields (decoded
as lists of ints) and signed scalars: byte-level helpers (`__print_hex`, `%pI4`, `%pM`,
`%pISpc`) see the record's bytes, and values are read unsigned as libtraceevent reads them
(its arithmetic is unsigned 64-bit: `REC->ret > 0` is true for ret = -11; unknown
identifiers are 0, unknown flag names -1). Conversions follow C's printf with the argument
truncated to its length modifier (`%d` an int, `%lu` an unsigned long, `%hu` an unsigned
short), `%p` as glibc prints it (`0x...`, `(nil)`), and libtraceevent's pointer extensions:
`%pS`/`%ps`/`%pF`/`%pf` (symbol+offset / symbol, through the `symbols` lookup, else the
address in hex), `%pI4`, `%pI6`, `%pI6c`, `%pISpc` (sockaddr), `%pM`/`%pm`/`%pMR`, `%pU`; an
unknown extension letter is printed after the pointer, as libtraceevent does (`%pK` ->
`0xffff...K`).

Anything it does not know (an unknown function or identifier, `*` dereferences) raises
`PrintFmtError` at compile time or when rendering: callers fall back to `name=value` pairs.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Fields = Mapping[str, Any]
SymbolLookup = Callable[[int], tuple[str, int] | None]
StringLookup = Callable[[int], str | None]
"""kernel address -> the string at it (tracefs printk_formats), for `%s` of a pointer"""
"""address -> (function name, offset into it), or None"""
Value = Any
Node = Callable[[Fields, "Context"], Value]
Body = Callable[[Fields], str]

MASK64 = (1 << 64) - 1


class PrintFmtError(ValueError):
    pass


class Context:
    """What one render needs beyond the fields: array element sizes and symbols."""

    __slots__ = ("strings", "symbols", "widths")

    def __init__(
        self,
        widths: Mapping[str, int],
        symbols: SymbolLookup | None,
        strings: StringLookup | None = None,
    ) -> None:
        self.widths = widths
        """field -> bytes of one value (array element, signed scalar)"""
        self.symbols = symbols
        self.strings = strings


# -- tokens --------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""\s*(?:
    (?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*
    |(?P<str>"(?:[^"\\]|\\.)*")
    |(?P<chr>'(?:[^'\\]|\\.)+')
    |(?P<id>[A-Za-z_]\w*)
    |(?P<op>->|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!<>?:(),{}\[\].])
    )""",
    re.X,
)


def _unescape(text: str) -> str:
    return text.encode("latin-1", "backslashreplace").decode("unicode_escape")


def tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise PrintFmtError(f"cannot read {text[pos : pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup or "op"
        out.append((kind, m[kind]))
    return out


# -- types of casts ------------------------------------------------------------------------

_TYPE_SIZES: dict[str, tuple[int, bool]] = {
    "uint": (4, False),
    "char": (1, True),
    "signed char": (1, True),
    "unsigned char": (1, False),
    "short": (2, True),
    "unsigned short": (2, False),
    "int": (4, True),
    "signed": (4, True),
    "unsigned": (4, False),
    "unsigned int": (4, False),
    "long": (8, True),
    "unsigned long": (8, False),
    "long long": (8, True),
    "unsigned long long": (8, False),
    "bool": (1, False),
    "_Bool": (1, False),
    "size_t": (8, False),
    "ssize_t": (8, True),
    "loff_t": (8, True),
    "pid_t": (4, True),
    "gfp_t": (4, False),
    "dev_t": (4, False),
}
for _bits in (8, 16, 32, 64):
    for _pre in ("u", "__u", "uint", "__le", "__be"):
        _TYPE_SIZES[f"{_pre}{_bits}{'_t' if _pre == 'uint' else ''}"] = (_bits // 8, False)
    for _pre in ("s", "__s", "int"):
        _TYPE_SIZES[f"{_pre}{_bits}{'_t' if _pre == 'int' else ''}"] = (_bits // 8, True)
_TYPE_WORDS = {"unsigned", "signed", "const", "volatile", "struct", "union", "enum", "void"}
_TYPE_WORDS |= {w for t in _TYPE_SIZES for w in t.split()}


def _is_type_start(tok: tuple[str, str]) -> bool:
    return tok[0] == "id" and (tok[1] in _TYPE_WORDS or tok[1].endswith("_t"))


_CAST_MASKS = {
    **dict.fromkeys(("u8", "s8", "char"), 0xFF),
    **dict.fromkeys(("u16", "s16", "short"), 0xFFFF),
    **dict.fromkeys(("u32", "s32", "int"), 0xFFFFFFFF),
}


def cast_mask(type_words: Sequence[str]) -> int | None:
    """A cast as libtraceevent evaluates it: values are unsigned 64-bit; casts to the
    8/16/32-bit types (char, short, int, u8..s32, with `unsigned`) keep the low bits (this
    mask; no sign extension), pointers and every other type change nothing (None)."""
    if "*" in type_words:
        return None
    return _CAST_MASKS.get(" ".join(type_words).removeprefix("unsigned "))


def truncate(value: int, size: int, signed: bool) -> int:
    bits = size * 8
    value &= (1 << bits) - 1
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


# -- parser --------------------------------------------------------------------------------

_BINARY: dict[str, int] = {
    "||": 1,
    "&&": 2,
    "|": 3,
    "^": 4,
    "&": 5,
    "==": 6,
    "!=": 6,
    "<": 7,
    ">": 7,
    "<=": 7,
    ">=": 7,
    "<<": 8,
    ">>": 8,
    "+": 9,
    "-": 9,
    "*": 10,
    "/": 10,
    "%": 10,
}


def _div(a: int, b: int) -> int:
    if not b:
        raise PrintFmtError("division by zero")
    return a // b


def _mod(a: int, b: int) -> int:
    if not b:
        raise PrintFmtError("division by zero")
    return a % b


_OPS: dict[str, Callable[[int, int], int]] = {
    "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b,
    "&": lambda a, b: a & b,
    "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b),
    "<": lambda a, b: int(a < b),
    ">": lambda a, b: int(a > b),
    "<=": lambda a, b: int(a <= b),
    ">=": lambda a, b: int(a >= b),
    "<<": lambda a, b: (a << (b & 63)) & MASK64,
    ">>": lambda a, b: a >> (b & 63),
    "+": lambda a, b: (a + b) & MASK64,
    "-": lambda a, b: (a - b) & MASK64,
    "*": lambda a, b: (a * b) & MASK64,
    "/": _div,
    "%": _mod,
}
"""libtraceevent evaluates in unsigned long long: every result modulo 2**64"""


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.toks = tokens
        self.pos = 0
        self.bare_fields = 0
        """inside `__get_*(name)`: a bare identifier is a field"""
        self.flag_list = 0
        """inside `{value, "name"}`: a bare identifier is a flag name"""

    def peek(self, ahead: int = 0) -> tuple[str, str]:
        i = self.pos + ahead
        return self.toks[i] if i < len(self.toks) else ("end", "")

    def take(self, text: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok[0] == "end" or (text is not None and tok[1] != text):
            raise PrintFmtError(f"expected {text or 'more'}, got {tok[1]!r}")
        self.pos += 1
        return tok

    def at(self, text: str) -> bool:
        tok = self.peek()
        return tok[0] == "op" and tok[1] == text

    def args(self) -> list[Node]:
        out = [self.expr()]
        while self.at(","):
            self.take(",")
            out.append(self.expr())
        return out

    def expr(self) -> Node:
        cond = self.binary(1)
        if not self.at("?"):
            return cond
        self.take("?")
        yes = self.expr()
        self.take(":")
        no = self.expr()
        return _ternary(cond, yes, no)

    def binary(self, min_prec: int) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            prec = _BINARY.get(tok[1]) if tok[0] == "op" else None
            if prec is None or prec < min_prec:
                return left
            self.take()
            right = self.binary(prec + 1)
            left = _rotated(tok[1], left, right)

    def unary(self) -> Node:
        tok = self.peek()
        if tok[0] == "op" and tok[1] in ("-", "+", "!", "~"):
            self.take()
            inner = self.unary()
            op = tok[1]
            if op == "-":
                return fold(lambda f, c: -_num(inner(f, c)) & MASK64)
            if op == "!":
                return fold(lambda f, c: int(not _num(inner(f, c))))
            if op == "~":
                return fold(lambda f, c: ~_num(inner(f, c)) & MASK64)
            return inner
        if tok[0] == "op" and tok[1] == "(" and _is_type_start(self.peek(1)):
            words = self._cast_type()
            if words is not None:
                inner = self.unary()
                mask = cast_mask(words)
                if mask is None:
                    return inner  # a no-op cast (a field keeps its name for %pI4 & co)
                if getattr(inner, "field_name", None):
                    return _cast_field(inner, mask)
                return fold(lambda f, c: _masked(inner(f, c), mask))
        if tok[0] == "op" and tok[1] in ("*", "&"):
            raise PrintFmtError("pointer dereference")
        return self.postfix(self.primary())

    def _cast_type(self) -> list[str] | None:
        """`(type words [*...])` at the cursor: consume it and return the words."""
        i, words = 1, []
        while True:
            kind, text = self.peek(i)
            if kind == "id" or (kind == "op" and text == "*"):
                words.append(text)
                i += 1
            elif kind == "op" and text == ")":
                break
            else:
                return None
        self.pos += i + 1
        return words

    def postfix(self, node: Node) -> Node:
        while self.at("["):
            self.take("[")
            index = self.expr()
            self.take("]")
            node = _index(node, index)
        return node

    def primary(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            value = (
                int(text, 0)
                if not (len(text) > 1 and text[0] == "0" and text[1].isdigit())
                else int(text, 8)
            )
            return lambda f, c: value
        if kind == "str":
            s = _unescape(text[1:-1])
            while self.peek()[0] == "str":
                s += _unescape(self.take()[1][1:-1])
            return lambda f, c: s
        if kind == "chr":
            ch = ord(_unescape(text[1:-1])[0])
            return lambda f, c: ch
        if kind == "op" and text == "(":
            inner = self.expr()
            self.take(")")
            if hasattr(inner, "op"):
                inner.paren = True  # type: ignore[attr-defined]
            return inner
        if kind == "op" and text == "{":
            self.flag_list += 1
            items = self.args() if not self.at("}") else []
            self.flag_list -= 1
            self.take("}")
            return fold(lambda f, c: [item(f, c) for item in items])
        if kind == "id" and text == "REC":
            self.take("->")
            name = self.take()[1]
            return _field(name)
        if kind == "id" and self.at("("):
            self.take("(")
            if text == "sizeof":
                return self._sizeof()
            bare = text.startswith("__get_")
            self.bare_fields += bare
            args = self.args() if not self.at(")") else []
            self.bare_fields -= bare
            self.take(")")
            return _call(text, args)
        if kind == "id" and self.bare_fields:
            return _field(text)
        if kind == "id" and self.flag_list and self.at(","):
            value = FLAG_NAMES.get(text, -1)  # libtraceevent's eval_flag
            return lambda f, c: value
        if kind == "id":
            return lambda f, c: 0  # libtraceevent: strtoull of an unknown atom
        raise PrintFmtError(f"unexpected {text!r}")

    def _sizeof(self) -> Node:
        words = []
        while not self.at(")"):
            words.append(self.take()[1])
        self.take(")")
        name = " ".join(w for w in words if w not in ("const", "volatile"))
        if "*" in words:
            return lambda f, c: 8
        size = _TYPE_SIZES.get(name)
        if size is None:
            raise PrintFmtError(f"sizeof({name})")
        return lambda f, c: size[0]


FLAG_NAMES = {
    **{
        f"{n}_SOFTIRQ": i
        for i, n in enumerate(
            (
                "HI",
                "TIMER",
                "NET_TX",
                "NET_RX",
                "BLOCK",
                "IRQ_POLL",
                "TASKLET",
                "SCHED",
                "HRTIMER",
                "RCU",
            )
        )
    },
    "HRTIMER_NORESTART": 0,
    "HRTIMER_RESTART": 1,
}
"""the names libtraceevent knows in flag lists; any other evaluates to -1"""


_NO_FIELDS = Context({}, None)


def fold(node: Node) -> Node:
    """`node` as a constant when it reads no field (the values of a flag list, `(1U << 20)
    - 1`, ...): evaluated once here instead of for every record."""
    try:
        value = node({}, _NO_FIELDS)
    except (PrintFmtError, ArithmeticError, TypeError, ValueError, IndexError, KeyError):
        return node
    return lambda f, c: value


def _masked(value: Value, mask: int) -> Value:
    return value & mask if type(value) is int else value


def _cast_field(node: Node, mask: int) -> Node:
    """A cast of a field keeps the field's name (for %pI4, __print_hex, ... on it)."""

    def get(f: Fields, c: Context) -> Value:
        value = node(f, c)
        return value & mask if type(value) is int else value

    get.field_name = node.field_name  # type: ignore[attr-defined]
    return get


def _num(value: Value) -> int:
    if type(value) is int:
        return value
    if isinstance(value, int):  # bool
        return int(value)
    if isinstance(value, (str, list, bytes)):
        return len(value)  # a pointer to something: non-zero
    raise PrintFmtError(f"not a number: {value!r}")


_TEP_PRIO = {
    **dict.fromkeys(("*", "/", "%"), 6),
    **dict.fromkeys(("+", "-"), 7),
    **dict.fromkeys(("<<", ">>"), 8),
    **dict.fromkeys(("<", ">", "<=", ">="), 9),
    **dict.fromkeys(("==", "!="), 10),
    "&": 11,
    "^": 12,
    "|": 13,
    "&&": 14,
    "||": 15,
    "?": 16,
}
"""libtraceevent's operator priorities (lower binds tighter)"""


def _tagged(node: Node, op: str, *parts: Node) -> Node:
    """The node with its operator and operands, for libtraceevent's rotation."""
    node.op, node.parts = op, parts  # type: ignore[attr-defined]
    return node


def _ternary(cond: Node, yes: Node, no: Node) -> Node:
    node = fold(lambda f, c: yes(f, c) if _num(cond(f, c)) else no(f, c))
    return _tagged(node, "?", cond, yes, no)


def _rotated(op: str, left: Node, right: Node) -> Node:
    """`left op right`, as libtraceevent parses it: when `right` is a parenthesized
    operation that binds less tightly than `op`, it re-roots the tree without regard for
    the parentheses (`x & (a | b)` is `(x & a) | b`, `n < (c ? a : b)` is `(n < c) ? a : b`),
    and trace-cmd prints what that evaluates to."""
    if getattr(right, "paren", False) and _TEP_PRIO[op] < _TEP_PRIO[right.op]:  # type: ignore[attr-defined]
        if right.op == "?":  # type: ignore[attr-defined]
            cond, yes, no = right.parts  # type: ignore[attr-defined]
            return _ternary(_joined(op, left, cond), yes, no)
        # libtraceevent chains operators of one priority to the right (a | (b | c)): its
        # `right.left` is the chain's first operand
        operands, ops = _chain(right)
        first = _joined(op, left, operands[0])
        rest = operands[1]
        for name, operand in zip(ops[1:], operands[2:], strict=True):
            rest = _joined(name, rest, operand)
        return _joined(ops[0], first, rest)
    return _joined(op, left, right)


def _joined(op: str, left: Node, right: Node) -> Node:
    return _tagged(fold(_binary(op, left, right)), op, left, right)


def _chain(node: Node) -> tuple[list[Node], list[str]]:
    """Operands and operators of the same-priority chain a node heads (left-associated
    here: ((a | b) | c))."""
    prio = _TEP_PRIO[node.op]  # type: ignore[attr-defined]
    operands: list[Node] = []
    ops: list[str] = []
    while (
        getattr(node, "op", "?") != "?"
        and _TEP_PRIO[node.op] == prio  # type: ignore[attr-defined]
        and (not operands or not getattr(node, "paren", False))
    ):
        left, right = node.parts  # type: ignore[attr-defined]
        operands.insert(0, right)
        ops.insert(0, node.op)  # type: ignore[attr-defined]
        node = left
    operands.insert(0, node)
    return operands, ops


def _binary(op: str, left: Node, right: Node) -> Node:
    if op == "&&":
        return lambda f, c: int(bool(_num(left(f, c))) and bool(_num(right(f, c))))
    if op == "||":
        return lambda f, c: int(bool(_num(left(f, c))) or bool(_num(right(f, c))))
    fn = _OPS[op]
    return lambda f, c: fn(_num(left(f, c)), _num(right(f, c)))


def _index(node: Node, index: Node) -> Node:
    name = getattr(node, "field_name", None)

    def get(f: Fields, c: Context) -> Value:
        value = node(f, c)
        i = _num(index(f, c))
        if isinstance(value, str):
            return ord(value[i]) if i < len(value) else 0
        item = value[i]
        width = c.widths.get(name, 8) if name else 8
        return item & ((1 << (8 * width)) - 1) if isinstance(item, int) else item

    return get


def _field(name: str) -> Node:
    def get(f: Fields, c: Context) -> Value:
        value = f[name]  # KeyError: not this event's field (the caller falls back)
        if type(value) is int and value < 0:  # read as unsigned, as libtraceevent does
            return value & ((1 << (8 * c.widths.get(name, 8))) - 1)
        return value

    get.field_name = name  # type: ignore[attr-defined]
    return get


# -- helpers -------------------------------------------------------------------------------


def field_bytes(value: Value, elem: int) -> bytes:
    """A decoded array (list of ints of `elem` bytes, or str) as the record's bytes."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, list):
        return b"".join((v & ((1 << (elem * 8)) - 1)).to_bytes(elem, "little") for v in value)
    if isinstance(value, int):
        return (value & ((1 << (elem * 8)) - 1)).to_bytes(elem, "little")
    raise PrintFmtError(f"not an array: {value!r}")


class Raw:
    """An argument that is a field's bytes (for %pI4, %pM, __print_hex ...)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def _bytes_of(node: Node) -> Callable[[Fields, Context], bytes]:
    name = getattr(node, "field_name", None)

    def get(f: Fields, c: Context) -> bytes:
        value = node(f, c)
        if isinstance(value, Raw):
            return value.data
        elem = c.widths.get(name, 1) if name else 1
        return field_bytes(value, elem)

    return get


def _flags(args: list[Node], delim_given: bool) -> Node:
    value, rest = args[0], args[1:]
    delim = rest.pop(0) if delim_given else None
    try:  # the usual case: constant {value, "name"} lists, evaluated once
        fixed: list[tuple[int, str]] | None = [
            (_num(p[0]), str(p[1])) for p in (node({}, _NO_FIELDS) for node in rest)
        ]
        symbols = {fval & MASK64: name for fval, name in reversed(fixed or [])}
    except (PrintFmtError, TypeError, IndexError, KeyError):
        fixed, symbols = None, {}

    def render(f: Fields, c: Context) -> str:
        val = _num(value(f, c)) & MASK64
        if not delim_given and fixed is not None:  # __print_symbolic: the first match
            name = symbols.get(val)
            return name if name is not None else f"0x{val:x}"
        pairs = fixed
        if pairs is None:
            pairs = [(_num(p[0]), str(p[1])) for p in (node(f, c) for node in rest)]
        if not delim_given:
            for fval, name in pairs:
                if val == fval & MASK64:
                    return name
            return f"0x{val:x}"
        sep = str(delim(f, c)) if delim is not None else ""
        out, printed = "", False
        for fval, name in pairs:  # libtraceevent's TEP_PRINT_FLAGS, quirks included
            if not val and fval < 0:
                out += name
                break
            if fval > 0 and val & fval == fval:
                out += (sep if printed else "") + name
                printed = True
                val &= ~fval
        if val:
            out += (sep if printed else "") + f"0x{val:x}"
        return out

    return render


def _hex(args: list[Node], spaced: bool) -> Node:
    data, length = _bytes_of(args[0]), args[1]

    def render(f: Fields, c: Context) -> str:
        raw = data(f, c)[: _num(length(f, c))]
        return (" " if spaced else "").join(f"{b:02x}" for b in raw)

    return render


def _array(args: list[Node]) -> Node:
    data, count, size = _bytes_of(args[0]), args[1], args[2]

    def render(f: Fields, c: Context) -> str:
        raw, n, el = data(f, c), _num(count(f, c)), _num(size(f, c))
        if el not in (1, 2, 4, 8):
            raise PrintFmtError(f"element size {el}")
        items = [int.from_bytes(raw[i * el : i * el + el], "little") for i in range(n)]
        return "{" + ",".join(f"0x{v:x}" for v in items) + "}"

    return render


def _bitmask(args: list[Node]) -> Node:
    data = _bytes_of(args[0])

    def render(f: Fields, c: Context) -> str:
        raw = data(f, c)
        digits = []
        for i, b in enumerate(raw):
            if i and i % 4 == 0:
                digits.append(",")
            digits.append(f"{b:02x}"[::-1])
        return "".join(digits)[::-1]

    return render


def _cpumask(args: list[Node]) -> Node:
    data = _bytes_of(args[0])

    def render(f: Fields, c: Context) -> str:
        raw = int.from_bytes(data(f, c), "little")
        out, bit, nbits = [], 0, len(data(f, c)) * 8
        while bit < nbits:
            if raw >> bit & 1:
                end = bit
                while end + 1 < nbits and raw >> (end + 1) & 1:
                    end += 1
                out.append(str(bit) if end == bit else f"{bit}-{end}")
                bit = end + 1
            else:
                bit += 1
        return ",".join(out)

    return render


def _raw_field(args: list[Node]) -> Node:
    data = _bytes_of(args[0])
    return lambda f, c: Raw(data(f, c))


def _dyn_len(args: list[Node]) -> Node:
    data = _bytes_of(args[0])
    return lambda f, c: len(data(f, c))


def _call(name: str, args: list[Node]) -> Node:
    if name in ("__print_flags", "__print_flags_u64"):
        return _flags(args, True)
    if name in ("__print_symbolic", "__print_symbolic_u64"):
        return _flags(args, False)
    if name in ("__print_hex", "__print_hex_str"):
        return _hex(args, name == "__print_hex")
    if name == "__print_array":
        return _array(args)
    if name in ("__get_str", "__get_rel_str") and len(args) == 1:
        return args[0]
    if name in ("__get_dynamic_array", "__get_rel_dynamic_array", "__get_sockaddr"):
        return args[0]
    if name in ("__get_rel_sockaddr",):
        return args[0]
    if name in ("__get_dynamic_array_len", "__get_rel_dynamic_array_len"):
        return _dyn_len(args)
    if name in ("__get_bitmask", "__get_rel_bitmask"):
        return _bitmask(args)
    if name in ("__get_cpumask", "__get_rel_cpumask"):
        return _cpumask(args)
    if name == "__builtin_expect" and len(args) == 2:
        return args[0]
    if name == "jbd2_dev_to_name" and len(args) == 1:  # trace-cmd's jbd2 plugin functions
        dev = args[0]
        return lambda f, c: f"{(_num(dev(f, c)) & 0xFFFFFFFF) >> 20}:{_num(dev(f, c)) & 0xFFFFF}"
    if name == "jiffies_to_msecs" and len(args) == 1:
        return args[0]
    raise PrintFmtError(f"unknown function {name}")


# -- the format string ---------------------------------------------------------------------

_CONV_RE = re.compile(r"%([-+ #0]*)(\d+|\*)?(?:\.(\d+|\*))?(hh|h|ll|l|z|Z|j|t|L|q)?([diouxXcsp%])")
_LONG = {"l": 8, "ll": 8, "L": 8, "q": 8, "z": 8, "Z": 8, "j": 8, "t": 8, "h": 2, "hh": 1}


def _pointer_ext(fmt: str, pos: int) -> str:
    """The extension letters libtraceevent reads after `%p` at `pos`."""
    c = fmt[pos : pos + 1]
    nxt = fmt[pos + 1 : pos + 2]
    if c in ("F", "S", "f", "s"):
        return c
    if c in ("M", "m"):
        return c + nxt if nxt in ("R", "F") else c
    if c in ("I", "i"):
        if nxt == "4":
            tail = fmt[pos + 2 : pos + 3]
            return c + nxt + (tail if tail in ("h", "n", "l", "b") else "")
        if nxt == "6":
            return c + nxt + ("c" if fmt[pos + 2 : pos + 3] == "c" else "")
        if nxt == "S":
            j = pos + 2
            while fmt[j : j + 1] in ("p", "f", "s") and fmt[j : j + 1]:
                j += 1
            if fmt[j : j + 1] in ("h", "n", "l", "b"):
                j += 1
            if fmt[j : j + 1] == "c":
                j += 1
            return fmt[pos:j]
        return ""
    if c == "U":
        return c + nxt if nxt in ("b", "B", "l", "L") else c
    return ""


def _c_printf(spec: str, conv: str, value: Value) -> str:
    """printf of one already-truncated int or string with Python's % (C-compatible for
    d i u o x X s c), but C's `%#x` of 0 is `0`."""
    if conv in "xXo" and "#" in spec and value == 0:
        spec = spec.replace("#", "")
    if conv in "diu":
        conv = "d"
    return str((spec + conv) % value)


def format_number(flags: str, width: str, prec: str, length: str, conv: str, value: int) -> str:
    size = _LONG.get(length, 4)
    signed = conv in "di"
    if conv == "c":
        return chr(value & 0xFF)
    v = truncate(value, size, signed)
    spec = f"%{flags}{width}{'.' + prec if prec else ''}"
    return _c_printf(spec, conv, v)


def glibc_pointer(value: int, flags: str = "", width: str = "") -> str:
    text = "(nil)" if not value else f"0x{value & MASK64:x}"
    return f"%{flags}{width}s" % text


def _ip4(raw: bytes) -> str:
    if len(raw) < 4:
        return "INVALIDIPv4"
    return ".".join(str(b) for b in raw[:4])


def _ip6(raw: bytes, compressed: bool) -> str:
    if len(raw) < 16:
        return "INVALIDIPv6"
    if not compressed:
        return ":".join(raw[i : i + 2].hex() for i in range(0, 16, 2))
    addr = ipaddress.IPv6Address(raw[:16])
    if addr.ipv4_mapped is not None:
        return f"::ffff:{addr.ipv4_mapped}"
    return addr.compressed


def _sockaddr(raw: bytes, ext: str) -> str:
    port = "p" in ext[2:]
    family = int.from_bytes(raw[:2], "little") if len(raw) >= 2 else 0
    if family == 2:
        text = _ip4(raw[4:8]) if len(raw) >= 16 else "INVALIDIPv4"
        return text + (f":{int.from_bytes(raw[2:4], 'big')}" if port and len(raw) >= 16 else "")
    if family == 10:
        if len(raw) < 28:
            return "INVALIDIPv6"
        text = _ip6(raw[8:24], "c" in ext[2:])
        return f"[{text}]:{int.from_bytes(raw[2:4], 'big')}" if port else text
    return ""


def _symbol(value: int, ext: str, c: Context) -> str:
    sym = c.symbols(value) if c.symbols is not None and value else None
    if sym is None:
        return f"0x{value & MASK64:x}"
    name, offset = sym
    return f"{name}+0x{offset:x}" if ext in ("S", "F") else name


def _pointer(ext: str, node: Node, flags: str, width: str) -> Node:
    if ext in ("S", "s", "F", "f"):
        return lambda f, c: _symbol(_num(node(f, c)), ext, c)
    if ext == "":
        return lambda f, c: glibc_pointer(_num(node(f, c)), flags, width)
    data = _bytes_of(node)
    if ext[:1] in ("M", "m"):
        sep = "" if ext[0] == "m" else ("-" if ext[1:] == "F" else ":")

        def mac(f: Fields, c: Context) -> str:
            raw = data(f, c)[:6]
            return sep.join(f"{b:02x}" for b in (raw[::-1] if "R" in ext else raw))

        return mac
    if ext[:2] in ("I4", "i4"):
        return lambda f, c: _ip4(data(f, c))
    if ext[:2] in ("I6", "i6"):
        return lambda f, c: _ip6(data(f, c), ext.endswith("c"))
    if ext[:2] in ("IS", "iS"):
        return lambda f, c: _sockaddr(data(f, c), ext)
    if ext[:1] == "U":

        def uuid(f: Fields, c: Context) -> str:
            raw = data(f, c)[:16]
            if ext[1:] in ("l", "L"):
                raw = raw[3::-1] + raw[5:3:-1] + raw[7:5:-1] + raw[8:]
            text = raw.hex()
            text = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
            return text.upper() if ext[1:] in ("B", "L") else text

        return uuid
    raise PrintFmtError(f"%p{ext}")


def _string(node: Node, spec: str) -> Node:
    def render(f: Fields, c: Context) -> str:
        value = node(f, c)
        if isinstance(value, Raw):
            value = value.data.split(b"\0", 1)[0].decode("utf-8", "backslashreplace")
        elif isinstance(value, list):
            value = field_bytes(value, 1).split(b"\0", 1)[0].decode("utf-8", "backslashreplace")
        elif isinstance(value, int):  # libtraceevent: a long-sized field printed by %s is
            # a pointer: the kernel string at it (printk_formats), else its address
            text = c.strings(value) if c.strings is not None else None
            value = f"{value & MASK64:x}" if text is None else text
        return str((spec + "s") % value)

    return render


def _number(node: Node, flags: str, width: str, prec: str, length: str, conv: str) -> Node:
    """`format_number` with the spec, mask and sign worked out once."""
    if conv == "c":
        return lambda f, c: chr(_num(node(f, c)) & 0xFF)
    bits = _LONG.get(length, 4) * 8
    mask, top, signed = (1 << bits) - 1, 1 << (bits - 1), conv in "di"
    spec = f"%{flags}{width}{'.' + prec if prec else ''}"
    text = spec + ("d" if conv in "diu" else conv)
    zero = text.replace("#", "") if conv in "xXo" and "#" in spec else None

    def render(f: Fields, c: Context) -> str:
        v = node(f, c)
        if type(v) is not int:
            v = _num(v)
        v &= mask
        if signed and v & top:
            v -= 1 << bits
        if zero is not None and not v:
            return zero % v
        return text % v

    return render


def _starred(
    node: Node, stars: list[Node], flags: str, width: str, prec: str, length: str, conv: str
) -> Node:
    """A conversion with `*` width and/or precision taken from the arguments."""

    def render(f: Fields, c: Context) -> str:
        given = [str(truncate(_num(s(f, c)), 4, True)) for s in stars]
        w = given.pop(0) if width == "*" else width
        p = given.pop(0) if prec == "*" else prec
        if w.startswith("-"):
            flags2, w = flags + "-", w[1:]
        else:
            flags2 = flags
        if p.startswith("-"):
            p = ""
        if conv == "s":
            return str(_string(node, f"%{flags2}{w}{'.' + p if p else ''}")(f, c))
        if conv == "p":
            return glibc_pointer(_num(node(f, c)), flags2, w)
        return format_number(flags2, w, p, length, conv, _num(node(f, c)))

    return render


def compile_print_fmt(
    print_fmt: str,
    widths: Mapping[str, int] | None = None,
    symbols: SymbolLookup | None = None,
    strings: StringLookup | None = None,
) -> Body:
    """A body renderer for a `print fmt:` line; raises PrintFmtError if unsupported."""
    toks = tokenize(print_fmt)
    if not toks or toks[0][0] != "str":
        raise PrintFmtError("no format string")
    parser = _Parser(toks)
    fmt_node = parser.primary()
    fmt = str(fmt_node({}, Context({}, None)))
    args: list[Node] = []
    if parser.at(","):
        parser.take(",")
        args = parser.args()
    if parser.peek()[0] != "end":
        raise PrintFmtError(f"trailing {parser.peek()[1]!r}")
    pieces: list[str | Node] = []
    pos = 0
    for m in _CONV_RE.finditer(fmt):
        if m.start() < pos:
            continue
        pieces.append(fmt[pos : m.start()])
        pos = m.end()
        flags, width, prec, length, conv = m[1], m[2] or "", m[3] or "", m[4] or "", m[5]
        if conv == "%":
            pieces.append("%")
            continue
        stars: list[Node] = []
        if width == "*" or prec == "*":
            if len(args) < 2:
                raise PrintFmtError("too few arguments")
            if conv == "p" and fmt[pos : pos + 1] == "b":  # %*pb / %*pbl: a bitmask
                args.pop(0)
                pos += 2 if fmt[pos + 1 : pos + 2] == "l" else 1
                pieces.append(
                    _cpumask([args.pop(0)]) if fmt[pos - 1] == "l" else _bitmask([args.pop(0)])
                )
                continue
            stars = [args.pop(0) for _ in range((width == "*") + (prec == "*"))]
        if not args:
            raise PrintFmtError("too few arguments")
        arg = args.pop(0)
        if stars:
            pieces.append(_starred(arg, stars, flags, width, prec, length, conv))
        elif conv == "p":
            ext = _pointer_ext(fmt, pos)
            pos += len(ext)
            pieces.append(_pointer(ext, arg, flags, width))
        elif conv == "s":
            pieces.append(_string(arg, f"%{flags}{width}{'.' + prec if prec else ''}"))
        else:
            pieces.append(_number(arg, flags, width, prec, length, conv))
    pieces.append(fmt[pos:])
    if args:
        raise PrintFmtError("too many arguments")
    ctx = Context(dict(widths or {}), symbols, strings)
    template = "".join(p.replace("%", "%%") if isinstance(p, str) else "%s" for p in pieces)
    nodes = tuple(p for p in pieces if not isinstance(p, str))

    def body(fields: Fields) -> str:
        return template % tuple([n(fields, ctx) for n in nodes])

    return body
