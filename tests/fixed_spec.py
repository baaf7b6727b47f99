"""A plain-Python, record-by-record statement of the fixed-point NK
arithmetic (kanhw.contract documents it), used as the specification the
compiled integer kernels are checked against."""



def rnd(x, s):
    return x if s <= 0 else (x + (1 << (s - 1))) >> s


class Spec:
    def __init__(self, model):
        self.m = model.copy()
        self.c = model.contract
        self.events = 0
        self.sat_records = self.clamps = self.stretches = 0

    def sat(self, x, bits):
        hi, lo = (1 << (bits - 1)) - 1, -(1 << (bits - 1))
        if x > hi or x < lo:
            self.events += 1
            return hi if x > hi else lo
        return x

    @staticmethod
    def clip(x, bits):
        return max(-(1 << (bits - 1)), min((1 << (bits - 1)) - 1, x))

    def reciprocal(self, width, P):
        c = self.c
        q = ((P - 1) << (c.frac_bits + c.rcp_shift + c.guard_bits)) // max(width, 1)
        if q > (1 << c.rcp_bits) - 1:
            self.events += 1
            return (1 << c.rcp_bits) - 1
        if q < 1:
            self.events += 1
            return 1
        return q

    def coordinate(self, F, a, P, train):
        c, m = self.c, self.m
        top = ((P - 1) << c.frac_bits) - 1
        t = rnd(self.clip(rnd(a - int(m.lo[F]), c.guard_bits), c.mul_bits) * int(m.rcp[F]),
                c.rcp_shift)
        if 0 <= t <= top:
            return t
        if not train:
            self.clamps += 1
            return 0 if t < 0 else top
        lo, hi = int(m.lo[F]), int(m.hi[F])
        if a < lo:
            lo = a
        elif a >= hi:
            hi = a
        gap = max(1, rnd((hi - lo) * c.margin_mult, c.margin_shift))
        lo, hi = self.sat(lo - gap, c.value_bits), self.sat(hi + gap, c.value_bits)
        if hi - lo >= 1 << (c.mul_bits - 1 + c.guard_bits):
            self.events += 1
        m.lo[F], m.hi[F] = lo, hi
        m.rcp[F] = self.reciprocal(hi - lo, P)
        self.stretches += 1
        t = rnd(self.clip(rnd(a - lo, c.guard_bits), c.mul_bits) * int(m.rcp[F]), c.rcp_shift)
        return min(max(t, 0), top)

    def forward(self, u, train):
        c, m, a = self.c, self.m, self.m.arch
        F_ = c.frac_bits
        acts = [list(map(int, u))]
        cache = []
        for l in range(a.n_layers):
            P, n_in = a.points[l], a.sizes[l]
            out, lc = [], {}
            for o in range(a.sizes[l + 1]):
                acc = 0
                for i in range(n_in):
                    F = int(a.func_base[l]) + o * n_in + i
                    t = acts[-1][i] if l == 0 else self.coordinate(F, acts[-1][i], P, train)
                    j, f = t >> F_, t & ((1 << F_) - 1)
                    k = int(a.node_base[l]) + (o * n_in + i) * P + j
                    v0 = int(m.values[k])
                    dv = self.sat(rnd(int(m.values[k + 1]) - v0, c.guard_bits), c.mul_bits)
                    acc += v0 + rnd(f * dv, F_ - c.guard_bits)
                    slope = 0
                    if l > 0:
                        slope = self.sat(rnd(dv * int(m.rcp[F]), F_ + c.rcp_shift - c.slope_frac),
                                         c.slope_bits)
                    lc[(o, i)] = (k, f, slope)
                out.append(self.sat(acc, c.value_bits))
            acts.append(out)
            cache.append(lc)
        return acts, cache

    def close(self):
        if self.events:
            self.sat_records += 1
            self.events = 0

    def train(self, u, y):
        c, m, a = self.c, self.m, self.m.arch
        eb = min(c.value_bits, c.mul_bits)
        acts, cache = self.forward(u, True)
        res = [self.sat(int(y[q]) - acts[-1][q], c.value_bits) for q in range(a.n_out)]
        delta = [self.sat(rnd(r * c.step_mult, c.step_shift), eb) for r in res]
        for l in range(a.n_layers - 1, -1, -1):
            below = [0] * a.sizes[l]
            for (o, i), (k, f, slope) in cache[l].items():
                e = delta[o]
                up = rnd(e * f, c.frac_bits)
                m.values[k] = self.sat(int(m.values[k]) + e - up, c.value_bits)
                m.values[k + 1] = self.sat(int(m.values[k + 1]) + up, c.value_bits)
                below[i] += e * slope
            delta = [self.sat(rnd(d, c.slope_frac), eb) for d in below]
        self.close()
        return acts[-1], res
