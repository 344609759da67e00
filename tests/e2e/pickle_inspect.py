"""Static inspection of pickle streams for the hostile-input tests.

Nothing here ever unpickles: it walks opcodes with pickletools.genops and keeps
a shallow model of the stack and memo, just deep enough to tell which global
each GLOBAL / INST / STACK_GLOBAL names. That is what predictd must report when
it refuses a file, so the tests compute the expectation independently of the
C reader.

The allowlist below mirrors what the C reader is specified to accept; it is
only used to find the *first disallowed* thing in a stream, never to load.
"""
import pickletools

# Exact (module, name) pairs the restricted reader accepts.
ALLOWED_GLOBALS = frozenset([
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("__builtin__", "object"),
    ("builtins", "object"),
    ("__builtin__", "bytes"),
    ("builtins", "bytes"),
    ("__builtin__", "set"),
    ("builtins", "set"),
    ("__builtin__", "frozenset"),
    ("builtins", "frozenset"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
])

# scikit-learn classes accepted under any sklearn.* module path (public
# pre-0.22 paths and private ones). Only undotted names qualify.
SKLEARN_CLASSES = frozenset([
    "LogisticRegression", "StandardScaler", "DecisionTreeClassifier",
    "RandomForestClassifier", "Pipeline", "Tree",
])

# Opcodes the reader refuses outright, whatever surrounds them.
DISALLOWED_OPCODES = frozenset([
    "EXT1", "EXT2", "EXT4", "PERSID", "BINPERSID", "NEXT_BUFFER",
    "READONLY_BUFFER",
])

STRING_OPS = frozenset([
    "STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
    "SHORT_BINUNICODE", "BINUNICODE8",
])
PUT_OPS = frozenset(["PUT", "BINPUT", "LONG_BINPUT"])
GET_OPS = frozenset(["GET", "BINGET", "LONG_BINGET"])

# Opcodes whose argument is a length-prefixed blob: name -> width of the
# little-endian length field that follows the opcode byte.
LENGTH_FIELD_OPS = {
    "BINUNICODE": 4, "BINBYTES": 4, "BINSTRING": 4,
    "BINUNICODE8": 8, "BINBYTES8": 8, "BYTEARRAY8": 8, "FRAME": 8,
    "SHORT_BINUNICODE": 1, "SHORT_BINBYTES": 1, "SHORT_BINSTRING": 1,
}

_MARK = object()


def is_allowed(module, name):
    if (module, name) in ALLOWED_GLOBALS:
        return True
    parts = module.split(".")
    return (parts[0] == "sklearn" and len(parts) > 1 and all(parts)
            and name in SKLEARN_CLASSES)


class Finding:
    """One GLOBAL-like reference or one forbidden opcode in a stream."""

    def __init__(self, kind, name, pos, end, module=None, attr=None):
        self.kind = kind        # "global" or "opcode"
        self.name = name        # dotted module.name, or the opcode name
        self.pos = pos          # byte offset of the opcode
        self.end = end          # byte offset just past the opcode
        self.module = module
        self.attr = attr

    def __repr__(self):
        return "Finding(%s %r @%d)" % (self.kind, self.name, self.pos)


class Scan:
    """Result of scan(): what the stream references, up to the first STOP."""

    def __init__(self):
        self.globals = []           # every Finding of kind "global", in order
        self.unresolved = []        # offsets of STACK_GLOBALs we could not resolve
        self.first_refusal = None   # first disallowed global or opcode
        self.error = None           # pickletools' complaint if the walk failed
        self.stop_end = None        # offset just past STOP, if reached
        self.ops = []               # (opcode name, arg, pos, end) as walked
        self.size = 0

    @property
    def truncated(self):
        return self.error is not None

    @property
    def trailing(self):
        return 0 if self.stop_end is None else self.size - self.stop_end


def _walk(data):
    """genops, tolerant of a damaged tail: returns (ops, error)."""
    ops = []
    error = None
    try:
        for op, arg, pos in pickletools.genops(data):
            ops.append((op, arg, pos))
    except Exception as e:  # ValueError for short reads, others for garbage
        error = "%s: %s" % (type(e).__name__, e)
    return ops, error


def scan(data):
    """Walks one pickle stream (up to its first STOP) without executing it."""
    res = Scan()
    res.size = len(data)
    ops, res.error = _walk(data)
    stack = []
    memo = {}

    def pop():
        return stack.pop() if stack else None

    def pop_to_mark():
        while stack:
            if stack.pop() is _MARK:
                return

    for i, (op, arg, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else pos + 1
        if op.name == "STOP":
            end = pos + 1
            res.stop_end = end
        res.ops.append((op.name, arg, pos, end))
        name = op.name
        finding = None
        if name in DISALLOWED_OPCODES:
            finding = Finding("opcode", name, pos, end)
        if name in ("GLOBAL", "INST"):
            module, attr = arg.split(" ", 1)
            finding = Finding("global", module + "." + attr, pos, end, module, attr)
        if name == "STACK_GLOBAL":
            attr = pop()
            module = pop()
            if isinstance(module, str) and isinstance(attr, str):
                finding = Finding("global", module + "." + attr, pos, end, module, attr)
            else:
                res.unresolved.append(pos)
            stack.append(None)
        if finding is not None:
            if finding.kind == "global":
                res.globals.append(finding)
            if res.first_refusal is None and not (
                    finding.kind == "global" and is_allowed(finding.module, finding.attr)):
                res.first_refusal = finding
        if name == "STACK_GLOBAL":
            continue

        # Shallow stack model: strings are tracked, everything else is None.
        if name in PUT_OPS:
            memo[arg] = stack[-1] if stack else None
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1] if stack else None
        elif name in GET_OPS:
            stack.append(memo.get(arg))
        elif name == "DUP":
            stack.append(stack[-1] if stack else None)
        elif name in STRING_OPS:
            stack.append(arg if isinstance(arg, str) else None)
        else:
            before = op.stack_before
            if pickletools.markobject in before:
                pop_to_mark()
                for _ in range(before.index(pickletools.markobject)):
                    pop()
            else:
                for _ in before:
                    pop()
            for item in op.stack_after:
                stack.append(_MARK if item is pickletools.markobject else None)
    return res


def length_fields(data, stop_at=None):
    """Yields (opname, field_offset, width, value) for each length-prefixed op.

    stop_at: a predicate on (opname, arg) after which the walk stops (joblib
    files carry raw array bytes after NumpyArrayWrapper that genops would
    misread as opcodes).
    """
    ops, _ = _walk(data)
    for op, arg, pos in ops:
        width = LENGTH_FIELD_OPS.get(op.name)
        if width is not None:
            value = int.from_bytes(data[pos + 1:pos + 1 + width], "little")
            yield op.name, pos + 1, width, value
        if stop_at is not None and stop_at(op.name, arg):
            return


def framed_length_fields(data):
    """Like length_fields, for every FRAME found anywhere in the file.

    joblib interleaves raw array bytes with pickle frames, so a linear opcode
    walk stops at the first array. A FRAME is recognised by its opcode byte,
    a length that fits in the file, and contents that parse as opcodes ending
    exactly at the frame's end (random array bytes essentially never do).
    Yields (opname, field_offset, width, value) for the FRAME and for each
    length-prefixed op inside it.
    """
    n = len(data)
    i = data.find(b"\x95")
    while i != -1 and i + 9 <= n:
        size = int.from_bytes(data[i + 1:i + 9], "little")
        body_start = i + 9
        if 0 < size <= n - body_start:
            body = data[body_start:body_start + size]
            ops, error = _walk(body + b".")
            last = ops[-1] if ops else None
            if error is None and last is not None and last[0].name == "STOP" and \
                    last[2] in (size, size - 1) and (last[2] == size or body[-1:] == b"."):
                yield "FRAME", i + 1, 8, size
                for op, arg, pos in ops:
                    width = LENGTH_FIELD_OPS.get(op.name)
                    if width is not None and op.name != "FRAME":
                        off = body_start + pos + 1
                        yield op.name, off, width, int.from_bytes(data[off:off + width], "little")
                i = data.find(b"\x95", body_start + size)
                continue
        i = data.find(b"\x95", i + 1)
