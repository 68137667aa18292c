package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// composeFile is the part of the Compose specification compose.yaml uses.
// It is decoded strictly: a key outside these (a typo such as depend_on)
// fails the test instead of being ignored.
type composeFile struct {
	Name     string                    `yaml:"name"`
	Node     yaml.Node                 `yaml:"x-node"` // the anchor the nodes merge
	Services map[string]composeService `yaml:"services"`
	Networks map[string]composeNetwork `yaml:"networks"`
	Volumes  map[string]any            `yaml:"volumes"`
}

type composeNetwork struct {
	IPAM struct {
		Config []struct {
			Subnet  string `yaml:"subnet"`
			IPRange string `yaml:"ip_range"`
		} `yaml:"config"`
	} `yaml:"ipam"`
}

type composeService struct {
	Image           string                  `yaml:"image"`
	Build           *composeBuild           `yaml:"build"`
	Restart         string                  `yaml:"restart"`
	StopGracePeriod string                  `yaml:"stop_grace_period"`
	Entrypoint      []string                `yaml:"entrypoint"`
	Command         []string                `yaml:"command"`
	Environment     map[string]string       `yaml:"environment"`
	DependsOn       map[string]composeDepOn `yaml:"depends_on"`
	Healthcheck     *composeHealth          `yaml:"healthcheck"`
	Volumes         []string                `yaml:"volumes"`
	Ports           []string                `yaml:"ports"`
	Networks        map[string]struct {
		IPv4Address string `yaml:"ipv4_address"`
	} `yaml:"networks"`
}

type composeBuild struct {
	Context    string `yaml:"context"`
	Dockerfile string `yaml:"dockerfile"`
}

type composeDepOn struct {
	Condition string `yaml:"condition"`
}

type composeHealth struct {
	Test        []string `yaml:"test"`
	Interval    string   `yaml:"interval"`
	Timeout     string   `yaml:"timeout"`
	StartPeriod string   `yaml:"start_period"`
	Retries     int      `yaml:"retries"`
}

// loadCompose reads path with its ${VAR:-default} references replaced by
// their defaults, which is what `docker compose up` uses with no .env file.
// As in Compose, only values are interpolated (not keys or comments).
func loadCompose(path string) (*composeFile, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := interpolateNode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Through bytes again: only a Decoder refuses unknown fields.
	text, err := yaml.Marshal(&doc)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	dec.KnownFields(true)
	var f composeFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// interpolateNode interpolates every scalar value under n.
func interpolateNode(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v, err := interpolate(n.Value)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		n.Value = v
		return nil
	}
	for i, c := range n.Content {
		if n.Kind == yaml.MappingNode && i%2 == 0 {
			continue // a key
		}
		if err := interpolateNode(c); err != nil {
			return err
		}
	}
	return nil
}

// varRef is a Compose variable reference: $$, ${NAME}, ${NAME:-default} or
// $NAME.
var varRef = regexp.MustCompile(`\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}|[A-Za-z_][A-Za-z0-9_]*)`)

// interpolate replaces each variable reference by its default. A reference
// without one is an error: the file must work with no .env file.
func interpolate(s string) (string, error) {
	var bad []string
	out := varRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		switch {
		case m[1] == "$":
			return "$"
		case m[3] != "":
			return m[4]
		default:
			bad = append(bad, ref)
			return ref
		}
	})
	if len(bad) > 0 {
		return "", fmt.Errorf("variables without a default: %s", strings.Join(bad, ", "))
	}
	return out, nil
}

// caddyUpstreams returns the upstreams of every reverse_proxy directive of
// a Caddyfile, and whether each block sets health_uri.
func caddyUpstreams(path string) (upstreams []string, healthURIs []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, "#"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "reverse_proxy":
			for _, u := range fields[1:] {
				if u != "{" {
					upstreams = append(upstreams, u)
				}
			}
		case "health_uri":
			healthURIs = append(healthURIs, fields[1:]...)
		}
	}
	return upstreams, healthURIs, sc.Err()
}
