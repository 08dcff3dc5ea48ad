package editions

import "testing"

func TestBounceWarnings(t *testing.T) {
	tests := []struct {
		name string
		p    Progress
		c    BounceCounts
		want int
	}{
		{"none sent", Progress{}, BounceCounts{Hard: 5, Complaints: 5}, 0},
		{"at the limits", Progress{Sent: 1000}, BounceCounts{Hard: 20, Complaints: 1}, 0},
		{"complaints over", Progress{Sent: 1000}, BounceCounts{Complaints: 2}, 1},
		{"hard over", Progress{Sent: 1000}, BounceCounts{Hard: 21}, 1},
		{"both over", Progress{Sent: 100}, BounceCounts{Hard: 3, Complaints: 1}, 2},
		{"soft never", Progress{Sent: 10}, BounceCounts{Soft: 10}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Warnings(tt.p); len(got) != tt.want {
				t.Errorf("got %q, want %d warnings", got, tt.want)
			}
		})
	}
}
