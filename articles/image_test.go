package articles

import (
	"strings"
	"testing"
)

func TestImageFromFrontMatterAndText(t *testing.T) {
	md := "+++\ntitle = \"Tides\"\ndate = 2025-03-01\nimage = \"img/tide.jpg\"\nimage_alt = \"A harbour at low tide\"\n+++\n\n## 30-Second Take\n- The tide is out.\n"
	a, err := Parse("tides.md", []byte(md), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Image != "img/tide.jpg" || a.ImageAlt != "A harbour at low tide" {
		t.Errorf("md: image %q alt %q", a.Image, a.ImageAlt)
	}
	txt := "Tides\n2025-03-01\nImage: https://example.org/t.png\nImage alt: Boats on mud\n30-Second Take\n- The tide is out.\n"
	a, err = Parse("tides.txt", []byte(txt), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Image != "https://example.org/t.png" || a.ImageAlt != "Boats on mud" {
		t.Errorf("txt: image %q alt %q", a.Image, a.ImageAlt)
	}
}

func TestImageRejectsPathsOutside(t *testing.T) {
	for _, img := range []string{"../secret.jpg", "/etc/x.png", "file:///etc/passwd", "img/a.txt", "javascript:alert(1)", "a/../../b.png"} {
		txt := "Tides\n2025-03-01\nImage: " + img + "\n30-Second Take\n- The tide is out.\n"
		_, err := Parse("tides.txt", []byte(txt), Options{})
		if err == nil || !strings.Contains(err.Error(), "tides.txt:3:") {
			t.Errorf("image %q: got %v, want an error at tides.txt:3", img, err)
		}
	}
}
