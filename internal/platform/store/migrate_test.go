package store

import (
	"io/fs"
	"testing"
	"testing/fstest"
)

func TestEngineFS(t *testing.T) {
	t.Parallel()
	src := fstest.MapFS{
		"0001_init.sql":           {Data: []byte("common {{apps_role}}")},
		"0002_lock.sqlite.sql":    {Data: []byte("sqlite")},
		"0002_lock.postgres.sql":  {Data: []byte("postgres {{apps_role}}")},
		"0003_grant.postgres.sql": {Data: []byte("grant")},
		"README.md":               {Data: []byte("ignored")},
		"sub/0009_ignored.sql":    {Data: []byte("ignored")},
	}
	vars := map[string]string{"{{apps_role}}": `"db_apps"`}
	want := map[Engine]map[string]string{
		EngineSQLite:   {"0001_init.sql": "common {{apps_role}}", "0002_lock.sql": "sqlite"},
		EnginePostgres: {"0001_init.sql": `common "db_apps"`, "0002_lock.sql": `postgres "db_apps"`, "0003_grant.sql": "grant"},
	}
	for engine, files := range want {
		v := vars
		if engine == EngineSQLite {
			v = nil
		}
		got, err := engineFS(src, engine, v)
		if err != nil {
			t.Fatalf("%s: %v", engine, err)
		}
		entries, _ := fs.ReadDir(got, ".")
		if len(entries) != len(files) {
			t.Errorf("%s: %d files, want %d", engine, len(entries), len(files))
		}
		for name, text := range files {
			data, err := fs.ReadFile(got, name)
			if err != nil || string(data) != text {
				t.Errorf("%s: %s = %q, %v; want %q", engine, name, data, err, text)
			}
		}
	}

	dup := fstest.MapFS{"0001_a.sql": {}, "0001_a.postgres.sql": {}}
	if _, err := engineFS(dup, EnginePostgres, nil); err == nil {
		t.Error("a common file and a variant with one version: no error")
	}
	if _, err := engineFS(dup, EngineSQLite, nil); err != nil {
		t.Errorf("the same set on SQLite: %v", err)
	}
}
