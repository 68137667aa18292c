package main

import (
	"slices"
	"testing"
)

func TestFlags(t *testing.T) {
	o, err := parseFlags([]string{"-secret", "s", "-scenario", "c", "-url", "http://127.0.0.1:18089/"})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.Rooms != 200 || c.Members != 10 || c.Start != 100 || c.Max != 100 || !slices.Equal(c.URLs, []string{"http://127.0.0.1:18089"}) {
		t.Fatalf("scenario C: %+v", c)
	}
	o, err = parseFlags([]string{"-secret", "s", "-url", "http://a:1,http://b:2/"})
	if err != nil {
		t.Fatal(err)
	}
	if c = o.cfg; !slices.Equal(c.URLs, []string{"http://a:1", "http://b:2"}) {
		t.Fatalf("two nodes: %+v", c)
	}
	o, err = parseFlags([]string{"-secret", "s", "-scenario", "custom", "-rooms", "3", "-members", "4", "-step", "+50"})
	if err != nil {
		t.Fatal(err)
	}
	if c = o.cfg; c.Max != 1200 || c.Start != 100 || c.Step.String() != "+50 msg/s" {
		t.Fatalf("custom: %+v", c)
	}
	for _, args := range [][]string{
		{"-secret", "s", "-scenario", "D"},
		{"-secret", "s", "-scenario", "A", "-rooms", "2"},
		{"-secret", "s", "-scenario", "custom"},
		{"-secret", "s", "-url", "ftp://x"},
		{"-secret", "", "-scenario", "A"},
		{"-secret", "s", "-step", "1"},
		{"-secret", "s", "-size", "5000"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}
