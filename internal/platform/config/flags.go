package config

import "github.com/spf13/pflag"

// BindFlags adds one flag per configuration key (except file-only keys) to fs.
// Flag values override the environment and the file only when set.
func BindFlags(fs *pflag.FlagSet) {
	for _, key := range Keys() {
		if key.FileOnly {
			continue
		}
		help := key.Help + " (env " + key.Env() + ")"
		fs.String(key.Flag(), "", help)
		if key.Bool {
			fs.Lookup(key.Flag()).NoOptDefVal = "true"
		}
	}
}
