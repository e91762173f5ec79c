package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// exportJSON exports dir's charts as JSON lines, as admin.
func exportJSON(t *testing.T, dir string) []chartOut {
	t.Helper()
	out := filepath.Join(t.TempDir(), "charts.jsonl")
	mustRun(t, "patient", "export", "--dir", dir, "--out", out, "--format", "json", "--user", "admin", "--password-file", passwordFile(t, adminPassword))
	var charts []chartOut
	for _, line := range bytes.Split(bytes.TrimSpace(readFile(t, out)), []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var c chartOut
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatalf("export line %s: %v", line, err)
		}
		charts = append(charts, c)
	}
	return charts
}

// demographics is what a roster round trip must keep, one line per patient, sorted.
func demographics(charts []chartOut) []string {
	var out []string
	for _, c := range charts {
		out = append(out, strings.Join([]string{c.Name, c.Sex, c.BirthDate, c.IDNumber, strings.Join(c.Phones, "/"), c.Address}, "|"))
	}
	slices.Sort(out)
	return out
}

func importArgs(t *testing.T, dir, csv string, extra ...string) []string {
	return append([]string{"patient", "import", "--dir", dir, "--csv", csv, "--user", "admin", "--password-file", passwordFile(t, adminPassword)}, extra...)
}

// TestPatientImportExport: a roster with a bad row is refused whole, or
// imported but for that row with --skip-bad-rows; a GB18030 file reads; a
// second import of the same people is refused by the node; the export reads
// back into a fresh node with the same patients; import and export also
// work through a serving node.
func TestPatientImportExport(t *testing.T) {
	dir := initNodeAdmin(t, "desk")

	r := run(t, importArgs(t, dir, "testdata/roster_bad.csv")...)
	if r.code != exitRejected || !strings.Contains(r.stdout, "第3行") || !strings.Contains(r.stdout, "校验") || !strings.Contains(r.stderr, "未导入任何数据") {
		t.Fatalf("roster with a bad row: exit %d, want %d\n%s%s", r.code, exitRejected, r.stdout, r.stderr)
	}
	if n := len(exportJSON(t, dir)); n != 0 {
		t.Fatalf("a refused roster left %d patients", n)
	}
	r = runEnv(t, []string{"LANG=en_US.UTF-8"}, importArgs(t, dir, "testdata/roster_bad.csv")...)
	if r.code != exitRejected || !strings.Contains(r.stdout, "line 3") || !strings.Contains(r.stderr, "nothing was imported") {
		t.Errorf("LANG=en: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = mustRun(t, importArgs(t, dir, "testdata/roster_bad.csv", "--skip-bad-rows")...)
	if !strings.Contains(r.stdout, "已导入 3 位患者") {
		t.Errorf("--skip-bad-rows:\n%s", r.stdout)
	}
	r = mustRun(t, importArgs(t, dir, "testdata/roster_gbk.csv")...)
	if !strings.Contains(r.stdout, "GB18030") || !strings.Contains(r.stdout, "已导入 2 位患者") {
		t.Errorf("GB18030 roster:\n%s", r.stdout)
	}
	// The same people again: the file is fine, the node refuses them all.
	r = run(t, importArgs(t, dir, "testdata/roster_gbk.csv")...)
	if r.code != exitRejected || !strings.Contains(r.stdout, "已在本机登记") {
		t.Errorf("second import of the same roster: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	charts := exportJSON(t, dir)
	want := demographics(charts)
	if len(want) != 5 || !strings.Contains(strings.Join(want, "\n"), "吴一|female|1955-05-05") ||
		!strings.Contains(strings.Join(want, "\n"), "钱七|female|1985-02-28|310104198502280285|13500005555/02162345678") {
		t.Fatalf("after the imports: %q", want)
	}

	// A wrong password is a refused sign-in, with its own exit code.
	if r := run(t, "patient", "import", "--dir", dir, "--csv", "testdata/roster_ok.csv", "--user", "admin", "--password-file", passwordFile(t, "wrong-password")); r.code != exitSignIn {
		t.Errorf("import with a wrong password: exit %d, want %d\n%s", r.code, exitSignIn, r.stderr)
	}

	// Export to CSV, import into a fresh node: the same patients.
	csvOut := filepath.Join(t.TempDir(), "名册.csv")
	mustRun(t, "patient", "export", "--dir", dir, "--out", csvOut, "--user", "admin", "--password-file", passwordFile(t, adminPassword))
	info, err := os.Stat(csvOut)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("export file: %v %v; want mode 0600", info, err)
	}
	data := readFile(t, csvOut)
	if !bytes.HasPrefix(data, []byte("\uFEFF姓名,性别,出生日期")) {
		t.Errorf("CSV export starts %q", data[:min(len(data), 40)])
	}
	if r := run(t, "patient", "export", "--dir", dir, "--out", csvOut, "--user", "admin", "--password-file", passwordFile(t, adminPassword)); r.code != exitUsage {
		t.Errorf("export over an existing file: exit %d", r.code)
	}
	fresh := initNodeAdmin(t, "fresh")
	mustRun(t, importArgs(t, fresh, csvOut)...)
	if got := demographics(exportJSON(t, fresh)); !slices.Equal(got, want) {
		t.Errorf("round trip through CSV:\n got %q\nwant %q", got, want)
	}
	enOut := filepath.Join(t.TempDir(), "roster-en.csv")
	mustRun(t, "patient", "export", "--dir", dir, "--out", enOut, "--headers", "en", "--user", "admin", "--password-file", passwordFile(t, adminPassword))
	fresh2 := initNodeAdmin(t, "fresh2")
	mustRun(t, importArgs(t, fresh2, enOut)...)
	if got := demographics(exportJSON(t, fresh2)); !slices.Equal(got, want) {
		t.Errorf("round trip through CSV with English headers:\n got %q\nwant %q", got, want)
	}

	// Serving: import and export go through the running node.
	srv := startServe(t, fresh)
	r = mustRun(t, importArgs(t, fresh, "testdata/roster_ok.csv")...)
	if !strings.Contains(r.stdout, "已导入 3 位患者") {
		t.Errorf("import while serving:\n%s", r.stdout)
	}
	r = run(t, importArgs(t, fresh, "testdata/roster_ok.csv")...)
	if r.code != exitRejected || !strings.Contains(r.stdout, "已在本机登记") {
		t.Errorf("second import while serving: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	admin := srv.login(t, "admin", adminPassword)
	if ids := admin.search(t, "zsf"); len(ids) != 1 {
		t.Errorf("search zsf after import while serving: %v", ids)
	}
	served := exportJSON(t, fresh)
	if len(served) != 8 {
		t.Errorf("export while serving: %d charts, want 8", len(served))
	}
	srv.cmd.Process.Signal(syscall.SIGTERM)
	srv.wait(t)
	if got := exportJSON(t, fresh); !slices.Equal(demographics(got), demographics(served)) {
		t.Errorf("export stopped differs from export serving")
	}
}
