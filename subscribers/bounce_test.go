package subscribers

import (
	"strings"
	"testing"
)

func TestPlanBounce(t *testing.T) {
	tests := []struct {
		name      string
		from      Status
		kind      BounceKind
		softCount int
		want      Status
	}{
		{"hard active", Active, BounceHard, 0, Bounced},
		{"hard pending", Pending, BounceHard, 0, Bounced},
		{"hard unsubscribed stays", Unsubscribed, BounceHard, 0, Unsubscribed},
		{"hard complained stays", Complained, BounceHard, 0, Complained},
		{"complaint active", Active, BounceComplaint, 0, Complained},
		{"complaint unsubscribed", Unsubscribed, BounceComplaint, 0, Complained},
		{"complaint bounced", Bounced, BounceComplaint, 0, Complained},
		{"soft below limit", Active, BounceSoft, 2, Active},
		{"soft at limit", Active, BounceSoft, 3, Bounced},
		{"soft unsubscribed", Unsubscribed, BounceSoft, 5, Unsubscribed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := PlanBounce(tt.from, Bounce{Kind: tt.kind}, tt.softCount, 3)
			if got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBounceReason(t *testing.T) {
	_, r := PlanBounce(Active, Bounce{Kind: BounceHard, Status: "5.1.1", Reason: "user\r\nunknown", Source: "smtp"}, 0, 3)
	if want := "hard bounce 5.1.1: user unknown (smtp)"; r != want {
		t.Errorf("reason %q, want %q", r, want)
	}
	_, r = PlanBounce(Active, Bounce{Kind: BounceSoft, Status: "4.2.2", Reason: strings.Repeat("x", 2000)}, 2, 3)
	if !strings.HasPrefix(r, "soft bounce #2 4.2.2: x") || len(r) > 1000 {
		t.Errorf("reason %q…", r[:40])
	}
}
