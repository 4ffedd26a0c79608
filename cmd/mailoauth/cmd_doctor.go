package main

import (
	"context"
	"fmt"

	"github.com/mailoauth/mailoauth/core/doctor"
)

func runDoctor(ctx context.Context, a *app, _ []string) error {
	st, p, err := a.openProfile()
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.CheckIntegrity(); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%-6s %-5s %s\n", "store", "PASS", "every record of "+st.Path()+" reads back and bbolt's consistency check passed")
	items := doctor.Run(ctx, &p, st.TokenCache(p.Domain), doctor.ProbeTimeout)
	failed := 0
	for _, it := range items {
		status := "PASS"
		if !it.OK {
			status = "FAIL"
			failed++
		}
		fmt.Fprintf(a.stdout, "%-6s %-5s %s\n", it.Name, status, it.Detail)
		if !it.OK {
			printFinding(a, it.Finding)
		}
	}
	fmt.Fprintf(a.stdout, "%d passed, %d failed\n", len(items)-failed, failed)
	if failed > 0 {
		return errChecksFailed
	}
	return nil
}
