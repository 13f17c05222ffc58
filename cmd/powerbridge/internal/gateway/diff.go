package gateway

import (
	"fmt"
	"strings"
)

// unifiedDiff returns a unified diff (3 lines of context) from a to b, or ""
// when they are equal. The files here are a few dozen lines, so a plain LCS
// table is fast enough and keeps the code obvious.
func unifiedDiff(nameA, nameB string, a, b []byte) string {
	if string(a) == string(b) {
		return ""
	}
	ops := diffOps(splitLines(a), splitLines(b))
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", nameA, nameB)
	for k := 0; k < len(ops); {
		if ops[k].kind == ' ' {
			k++
			continue
		}
		start, end := hunkAround(ops, k)
		writeHunk(&out, ops[start:end])
		k = end
	}
	if len(a) > 0 && a[len(a)-1] != '\n' || len(b) > 0 && b[len(b)-1] != '\n' {
		out.WriteString("\\ (a file does not end in a newline)\n")
	}
	return out.String()
}

// diffOp is one line of a diff.
type diffOp struct {
	kind byte // ' ', '-', '+'
	line string
	i, j int // positions in x and y before this op
}

// diffContext is how many unchanged lines a hunk shows around a change.
const diffContext = 3

// diffOps is the edit script from x to y along a longest common subsequence.
func diffOps(x, y []string) []diffOp {
	// lcs[i][j] is the length of the longest common subsequence of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			ops = append(ops, diffOp{' ', x[i], i, j})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			// Deletions before insertions, as diff -u writes them.
			ops = append(ops, diffOp{'-', x[i], i, j})
			i++
		default:
			ops = append(ops, diffOp{'+', y[j], i, j})
			j++
		}
	}
	return ops
}

// hunkAround returns the bounds of the hunk of the change at k: from
// diffContext lines before it to diffContext lines after the last change
// that is within 2*diffContext of the next.
func hunkAround(ops []diffOp, k int) (start, end int) {
	start, end = max(k-diffContext, 0), k
	for end < len(ops) {
		if ops[end].kind != ' ' {
			end++
			continue
		}
		run := end
		for run < len(ops) && ops[run].kind == ' ' {
			run++
		}
		if run == len(ops) || run-end > 2*diffContext {
			return start, min(end+diffContext, len(ops))
		}
		end = run
	}
	return start, end
}

// writeHunk writes a hunk's header and lines.
func writeHunk(out *strings.Builder, h []diffOp) {
	var aLen, bLen int
	for _, o := range h {
		if o.kind != '+' {
			aLen++
		}
		if o.kind != '-' {
			bLen++
		}
	}
	aStart, bStart := h[0].i+1, h[0].j+1
	if aLen == 0 {
		aStart--
	}
	if bLen == 0 {
		bStart--
	}
	fmt.Fprintf(out, "@@ -%d,%d +%d,%d @@\n", aStart, aLen, bStart, bLen)
	for _, o := range h {
		out.WriteByte(o.kind)
		out.WriteString(o.line)
		out.WriteByte('\n')
	}
}

func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
