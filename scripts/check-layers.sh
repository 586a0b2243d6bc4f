#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The layering rule of src/ (docs/architecture.md), checked.
#
#   scripts/check-layers.sh [-q] [SRC_DIR [INCLUDE_DIR]]
#
# Reads every #include "..." of SRC_DIR/**/*.{c,h} (default: src/ and
# include/ of this repository), prints the include graph by layer (a module
# is a .c/.h pair: the path without its extension) and fails, naming each
# offence, on
#   - an include of a header in a higher layer (LAYERS below, lowest first);
#   - an include cycle between modules (any, also within one layer);
#   - an include of a header found neither under SRC_DIR nor INCLUDE_DIR;
#   - a source file over MAX_LINES lines;
#   - a field named shm_* (it lives in shared memory) touched other than
#     through an accessor of os/shm.h, outside os/shm.h.  Only the field's
#     address may appear: as an argument of an accessor (load_acquire(
#     &r->shm_pos)) or of a function that applies the accessors itself
#     (cpu_publish(&r->shm_cpu)), never of a bare atomic_*, __atomic_* or
#     __sync_* call; or stored as a pointer (v->head = &r->shm_pos;).
#     sizeof/offsetof/_Static_assert and struct declarations do not count;
#   - a folder of SRC_DIR that is not a layer, a source file outside them.
# -q prints the offences only.  Needs bash and a POSIX awk (mawk is fine).
set -euo pipefail

# The layers, bottom to top: a file includes its own layer and those below.
LAYERS="os proto mem ns transport conn api"
MAX_LINES=600
# The accessors of os/shm.h; the macros it defines count too.
ACCESSORS="load_acquire store_release load_relaxed store_relaxed fetch_add_relaxed fetch_add_fence"

quiet=0
if [ "${1-}" = -q ]; then
	quiet=1
	shift
fi
root=$(cd "$(dirname "$0")/.." && pwd)
src=$(cd "${1:-$root/src}" && pwd)
inc=$(cd "${2:-$root/include}" && pwd)

list=$(mktemp)
trap 'rm -f "$list"' EXIT
cd "$src"
if [ -f os/shm.h ]; then
	ACCESSORS="$ACCESSORS $(sed -n 's/^#[ \t]*define[ \t]\{1,\}\([A-Za-z_][A-Za-z0-9_]*\)(.*/\1/p' os/shm.h | tr '\n' ' ')"
fi
mapfile -t files < <(find . -type f -name '*.[ch]' | sed 's|^\./||' | LC_ALL=C sort)
{
	find . -mindepth 1 -maxdepth 1 -type d | sed 's|^\./|dir |' | LC_ALL=C sort
	printf 'src %s\n' "${files[@]}"
	(cd "$inc" && find . -type f -name '*.h' | sed 's|^\./|inc |' | LC_ALL=C sort)
} >"$list"

awk -v layers="$LAYERS" -v max_lines="$MAX_LINES" -v accessors="$ACCESSORS" \
	-v quiet="$quiet" '
# ------------------------------------------------------------ setup

BEGIN {
	nlayers = split(layers, layer_name, " ")
	for (k = 1; k <= nlayers; k++)
		layer_index[layer_name[k]] = k
	split(accessors, a, " ")
	for (k in a)
		is_accessor[a[k]] = 1
	split("sizeof offsetof _Alignof alignof _Static_assert static_assert typeof __typeof__", a, " ")
	for (k in a)
		is_meta[a[k]] = 1
	split("if while for switch return sizeof do else case", a, " ")
	for (k in a)
		is_keyword[a[k]] = 1
	nmods = 0
	noff = 0
}

# The first input lists what exists: "dir NAME", "src PATH", "inc PATH".
FNR == NR {
	if ($1 == "dir")
		dirs[++ndirs] = $2
	else if ($1 == "src")
		add_source($2)
	else if ($1 == "inc")
		public[$2] = 1
	next
}

function add_source(path,   m) {
	exists[path] = 1
	m = path
	sub(/\.[ch]$/, "", m)
	if (!(m in mod_seen)) {
		mod_seen[m] = 1
		mods[++nmods] = m
	}
}

function module_of(path,   m) {
	m = path
	sub(/\.[ch]$/, "", m)
	return m
}

function layer_of(path) {
	return index(path, "/") ? substr(path, 1, index(path, "/") - 1) : ""
}

function offence(text) {
	off[++noff] = text
}

# ------------------------------------------------------------ reading

FNR == 1 {
	if (cur != "")
		finish_file()
	cur = FILENAME
	in_block = 0
	ntk = 0
}

{
	strip($0)
	if (code ~ /^[ \t]*#[ \t]*include[ \t]*"/) {
		name = code
		sub(/^[ \t]*#[ \t]*include[ \t]*"/, "", name)
		sub(/".*/, "", name)
		ninc++
		inc_file[ninc] = cur
		inc_line[ninc] = FNR
		inc_name[ninc] = name
		next
	}
	tokenize(bare, FNR)
	lines[FNR] = $0
	nlines = FNR
}

END {
	if (cur != "")
		finish_file()
	check_folders()
	resolve_includes()
	find_cycles()
	if (!quiet)
		print_graph()
	for (k = 1; k <= noff; k++)
		print off[k]
	if (noff) {
		printf "check-layers: %d offence%s\n", noff, noff == 1 ? "" : "s"
		exit 1
	}
	printf "check-layers: ok (%d modules, %d includes between modules)\n", nmods, nedges
}

# Drop comments (state in in_block across lines).  Sets code (string
# literals kept: the include names) and bare (literals emptied).
function strip(s,   i, c, j, q) {
	code = ""
	bare = ""
	while (s != "") {
		if (in_block) {
			j = index(s, "*/")
			if (!j)
				return
			s = substr(s, j + 2)
			in_block = 0
			code = code " "
			bare = bare " "
			continue
		}
		if (!match(s, /[\/"\047]/)) {
			code = code s
			bare = bare s
			return
		}
		code = code substr(s, 1, RSTART - 1)
		bare = bare substr(s, 1, RSTART - 1)
		s = substr(s, RSTART)
		c = substr(s, 1, 1)
		if (c == "/" && substr(s, 2, 1) == "*") {
			in_block = 1
			s = substr(s, 3)
		} else if (c == "/" && substr(s, 2, 1) == "/") {
			return
		} else if (c == "/") {
			code = code c
			bare = bare c
			s = substr(s, 2)
		} else {
			for (j = 2; j <= length(s); j++) {
				q = substr(s, j, 1)
				if (q == "\\")
					j++
				else if (q == c)
					break
			}
			code = code substr(s, 1, j)
			bare = bare c c
			s = substr(s, j + 1)
		}
	}
}

function tokenize(s, line) {
	while (s != "") {
		if (match(s, /^[ \t\r\f\v\\]+/)) {
			s = substr(s, RLENGTH + 1)
			continue
		}
		if (!(match(s, /^[A-Za-z_][A-Za-z0-9_]*/) || match(s, /^[0-9][A-Za-z0-9_.]*/) ||
		      match(s, /^(->|\+\+|--|&&|\|\||<<=|>>=|==|!=|<=|>=|\+=|-=|\*=|\/=|%=|&=|\|=|\^=|<<|>>|\.\.\.)/)))
			RLENGTH = 1
		tk[++ntk] = substr(s, 1, RLENGTH)
		tl[ntk] = line
		s = substr(s, RLENGTH + 1)
	}
}

function finish_file() {
	if (nlines > max_lines)
		offence("src/" cur ": " nlines " lines, over " max_lines)
	if (cur != "os/shm.h")
		check_shm()
	nlines = 0
}

# ------------------------------------------------------------ shm_ fields

function is_ident(t) {
	return t ~ /^[A-Za-z_][A-Za-z0-9_]*$/
}

# Pair every bracket with its mate; enclosing[i]: the innermost "(" open
# at token i, innermost[i]: the innermost bracket of any kind.
function pair_brackets(   i, sp, psp, t) {
	sp = 0
	psp = 0
	for (i = 1; i <= ntk; i++) {
		t = tk[i]
		mate[i] = 0
		enclosing[i] = psp ? pstack[psp] : 0
		innermost[i] = sp ? stack[sp] : 0
		if (t == "(" || t == "[" || t == "{") {
			stack[++sp] = i
			if (t == "(")
				pstack[++psp] = i
		} else if ((t == ")" || t == "]" || t == "}") && sp) {
			mate[i] = stack[sp]
			mate[stack[sp]] = i
			if (tk[stack[sp]] == "(" && psp)
				psp--
			sp--
		}
	}
}

# The first token of the postfix expression that ends at token k (0: none).
function chain_start(k,   o) {
	for (;;) {
		if (k < 1)
			return 0
		if (tk[k] == "]" && mate[k]) {
			k = mate[k] - 1
			continue
		}
		if (tk[k] == ")" && mate[k]) {
			o = mate[k]
			if (o > 1 && is_ident(tk[o - 1]) && !(tk[o - 1] in is_keyword)) {
				k = o - 1	# a call: f(x)->shm_a
				continue
			}
			k = o	# parenthesized: (p)->shm_a
		} else if (!is_ident(tk[k])) {
			return 0
		}
		if (k > 2 && (tk[k - 1] == "." || tk[k - 1] == "->")) {
			k -= 2
			continue
		}
		return k
	}
}

# The last token of the postfix chain that continues after token k.
function chain_end(k) {
	for (;;) {
		if ((tk[k + 1] == "." || tk[k + 1] == "->") && is_ident(tk[k + 2]))
			k += 2
		else if (tk[k + 1] == "[" && mate[k + 1])
			k = mate[k + 1]
		else
			return k
	}
}

# Whether token i lies inside sizeof(...), offsetof(...) and the like.
function in_meta(i,   o) {
	for (o = enclosing[i]; o; o = enclosing[o])
		if (o > 1 && (tk[o - 1] in is_meta))
			return 1
	return 0
}

# Whether the expression from token s to e (a postfix chain naming a
# shm_ field) is a use that does not touch the field.
function shm_allowed(s, e,   pre, post, o, callee) {
	pre = tk[s - 1]
	post = tk[e + 1]
	if ((pre in is_meta) || in_meta(s))
		return 1
	if (pre != "&")
		return 0
	# its address kept for an accessor: v->head = &r->shm_pos;
	if ((tk[s - 2] == "=" || tk[s - 2] == "return") && (post == ";" || post == "," || post == "}"))
		return 1
	# its address as a whole argument of a call: load_acquire(&r->shm_pos)
	if ((tk[s - 2] != "(" && tk[s - 2] != ",") || (post != "," && post != ")"))
		return 0
	o = enclosing[s]
	if (!o || innermost[s] != o || o < 2)
		return 0
	callee = tk[o - 1]
	if (callee in is_accessor)
		return 1
	if (!is_ident(callee) || (callee in is_keyword) || callee ~ /^(atomic_|__atomic_|__sync_)/)
		return 0	# not a call, or a bare atomic that names no order of ours
	return 1		# a helper that applies the accessors itself
}

function check_shm(   i, s, e, seen) {
	pair_brackets()
	split("", seen)
	for (i = 2; i <= ntk; i++) {
		if (tk[i] !~ /^shm_/ || (tk[i - 1] != "." && tk[i - 1] != "->"))
			continue
		s = chain_start(i - 2)
		if (s && (s in seen))
			continue	# one report per expression
		e = chain_end(i)
		if (s)
			seen[s] = 1
		if (s && shm_allowed(s, e))
			continue
		offence("src/" cur ":" tl[i] ": " tk[i] " touched outside an os/shm.h accessor: " trim(lines[tl[i]]))
	}
}

function trim(s) {
	gsub(/^[ \t]+|[ \t]+$/, "", s)
	return s
}

# ------------------------------------------------------------ folders, includes

function check_folders(   k, m) {
	for (k = 1; k <= ndirs; k++)
		if (!(dirs[k] in layer_index))
			offence("src/" dirs[k] ": not a layer folder (layers: " layers ")")
	for (k = 1; k <= nmods; k++)
		if (layer_of(mods[k]) == "")
			offence("src/" mods[k] ": a source file outside the layer folders")
}

# "a/./b/../c" -> "a/c"
function normalize(p,   n, parts, out, k, no) {
	n = split(p, parts, "/")
	no = 0
	for (k = 1; k <= n; k++) {
		if (parts[k] == "." || parts[k] == "")
			continue
		if (parts[k] == ".." && no)
			no--
		else
			out[++no] = parts[k]
	}
	p = ""
	for (k = 1; k <= no; k++)
		p = p (k > 1 ? "/" : "") out[k]
	return p
}

# Where the compiler finds a quoted include: the folder of the including file,
# then include/ (-Iinclude), then src/ (-Isrc).  "" when public or missing.
function resolve(file, name,   dir, p) {
	dir = file
	if (!sub(/\/[^\/]*$/, "", dir))
		dir = ""
	p = normalize((dir != "" ? dir "/" : "") name)
	if (p in exists)
		return p
	if (name in public)
		return ""
	p = normalize(name)
	if (p in exists)
		return p
	missing = 1
	return ""
}

function resolve_includes(   k, f, t, from, to, lf, lt, site) {
	nedges = 0
	for (k = 1; k <= ninc; k++) {
		f = inc_file[k]
		missing = 0
		t = resolve(f, inc_name[k])
		site = "src/" f ":" inc_line[k]
		if (missing) {
			offence(site ": missing header \"" inc_name[k] "\" (neither under src/ nor include/)")
			continue
		}
		if (t == "")
			continue
		from = module_of(f)
		to = module_of(t)
		lf = layer_of(f)
		lt = layer_of(t)
		if ((lf in layer_index) && (lt in layer_index) && layer_index[lt] > layer_index[lf])
			offence(site ": upward include \"" inc_name[k] "\" (" lf " is below " lt ")")
		if (from == to || ((from, to) in edge))
			continue
		edge[from, to] = 1
		edge_site[from, to] = site ": " from " includes \"" inc_name[k] "\""
		nedges++
	}
}

# ------------------------------------------------------------ cycles

function find_cycles(   i, j, k, mi, mk, m, c, n, cyc, key, comp) {
	for (i = 1; i <= nmods; i++)
		for (j = 1; j <= nmods; j++)
			if ((mods[i], mods[j]) in edge)
				reach[mods[i], mods[j]] = 1
	for (k = 1; k <= nmods; k++) {
		mk = mods[k]
		for (i = 1; i <= nmods; i++) {
			mi = mods[i]
			if (!((mi, mk) in reach))
				continue
			for (j = 1; j <= nmods; j++)
				if ((mk, mods[j]) in reach)
					reach[mi, mods[j]] = 1
		}
	}
	# A strongly connected group per module on a cycle; one shortest
	# cycle through each of its members, each cycle named once.
	for (i = 1; i <= nmods; i++) {
		m = mods[i]
		if (!((m, m) in reach))
			continue
		n = shortest_cycle(m, cyc)
		key = ""
		for (c = 1; c <= n; c++)
			key = key " " cyc[c]
		if (key in cycle_seen)
			continue
		cycle_seen[key] = 1
		report_cycle(cyc, n)
	}
}

# The shortest cycle through m, rotated to start at its first module in
# sorted order; returns its length, the modules in cyc[1..n].
function shortest_cycle(m, cyc,   q, head, tail, u, j, v, par, found, n, path, k, best, r) {
	split("", par)
	head = 1
	tail = 0
	q[++tail] = m
	par[m] = ""
	found = ""
	while (head <= tail && found == "") {
		u = q[head++]
		for (j = 1; j <= nmods; j++) {
			v = mods[j]
			if (!((u, v) in edge) || !((v, m) in reach))
				continue
			if (v == m) {
				found = u
				break
			}
			if (!(v in par)) {
				par[v] = u
				q[++tail] = v
			}
		}
	}
	n = 0
	for (u = found; u != ""; u = par[u])
		path[++n] = u
	# path[n] is m: reverse into cyc, then rotate
	best = 1
	for (k = 1; k <= n; k++) {
		r[k] = path[n - k + 1]
		if (order_of(r[k]) < order_of(r[best]))
			best = k
	}
	for (k = 1; k <= n; k++)
		cyc[k] = r[(best + k - 2) % n + 1]
	return n
}

function order_of(m,   k) {
	if (!(m in mod_order))
		for (k = 1; k <= nmods; k++)
			mod_order[mods[k]] = k
	return mod_order[m]
}

function report_cycle(cyc, n,   k, text) {
	text = "include cycle: "
	for (k = 1; k <= n; k++)
		text = text cyc[k] " -> "
	text = text cyc[1]
	for (k = 1; k <= n; k++)
		text = text "\n  " edge_site[cyc[k], cyc[k % n + 1]]
	offence(text)
}

# ------------------------------------------------------------ the graph

function print_graph(   l, k, j, m, line, to, mark) {
	printf "include graph by layer (%s, lowest first; ! marks an upward include):\n", layers
	for (l = 1; l <= nlayers; l++) {
		print layer_name[l]
		for (k = 1; k <= nmods; k++) {
			m = mods[k]
			if (layer_of(m) != layer_name[l])
				continue
			line = "  " m
			mark = " ->"
			for (j = 1; j <= nmods; j++) {
				to = mods[j]
				if (!((m, to) in edge))
					continue
				line = line mark " " to
				mark = ""
				if ((layer_of(to) in layer_index) && layer_index[layer_of(to)] > l)
					line = line "!"
			}
			print line
		}
	}
}
' "$list" "${files[@]}"
