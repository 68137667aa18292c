// Command tessera runs Tessera: five back ends on one shared platform, in one
// binary. See README.md and docs/.
package main

import (
	"os"
	_ "time/tzdata" // time zones of schedules and apps work on minimal images
)

func main() {
	os.Exit(run(os.Args[1:], os.Environ()))
}
