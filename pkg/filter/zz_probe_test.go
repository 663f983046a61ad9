package filter

import (
	"fmt"
	"testing"
)

func TestZZPre(t *testing.T) {
	opts := resolvedFilter(t, "sshd", "")
	f, _ := New(opts)
	p := f.pre
	for i := range f.fail {
		fmt.Printf("%d pre=%q rest=%q cost=%d\n", i, p.pre[i], p.rest[i], p.restCost[i])
	}
	for _, c := range []byte("pCRDAFIcs") {
		fmt.Printf("lead %c: %b\n", c, p.lead[int(c)*p.rwords])
	}
}
