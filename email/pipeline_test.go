package email

import (
	"bufio"
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// scripted is an SMTP server that answers from a script, for the protocol
// corners a well-behaved server never shows. It serves one connection.
type scripted struct {
	port int
	done chan scriptLog
}

// scriptLog is what a scripted server saw.
type scriptLog struct {
	pipelined bool     // RCPT TO arrived before MAIL FROM was answered
	commands  []string // verbs in order
	messages  int      // data sections ended with "."
}

// startScripted serves with caps in its EHLO reply and replies[verb] (a
// whole reply line; by default 354 to DATA and 250 to the rest) to each
// command. With watch it holds MAIL's reply back 300 ms, to see whether
// the client pipelines.
func startScripted(t *testing.T, caps []string, replies map[string]string, watch bool) *scripted {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{port: ln.Addr().(*net.TCPAddr).Port, done: make(chan scriptLog, 1)}
	go func() {
		defer ln.Close()
		var log scriptLog
		defer func() { s.done <- log }()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		say := func(line string) { c.Write([]byte(line + "\r\n")) }
		say("220 scripted ESMTP")
		for {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			verb := strings.ToUpper(strings.Fields(line + " x")[0])
			log.commands = append(log.commands, verb)
			switch verb {
			case "EHLO":
				for _, c := range caps {
					say("250-" + c)
				}
				say("250 SIZE 10000000")
				continue
			case "QUIT":
				say("221 bye")
				return
			case "MAIL":
				if !watch {
					break
				}
				// Hold the reply back: only a pipelining client sends
				// RCPT TO before it comes.
				c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
				if _, err := r.Peek(1); err == nil {
					log.pipelined = true
				}
			}
			reply, ok := replies[verb]
			switch {
			case ok:
			case verb == "DATA":
				reply = "354 go ahead"
			default:
				reply = "250 OK"
			}
			say(reply)
			if verb == "DATA" && strings.HasPrefix(reply, "354") {
				for {
					c.SetReadDeadline(time.Now().Add(5 * time.Second))
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if l == ".\r\n" {
						log.messages++
						say("250 queued")
						break
					}
				}
			}
		}
	}()
	return s
}

func (s *scripted) log(t *testing.T) scriptLog {
	t.Helper()
	select {
	case l := <-s.done:
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("scripted server did not finish")
		return scriptLog{}
	}
}

// TestPipelining sends one message to servers with and without PIPELINING
// and to servers that refuse parts of a pipelined envelope.
func TestPipelining(t *testing.T) {
	tests := []struct {
		name          string
		caps          []string
		replies       map[string]string
		wantPipelined bool
		wantCode      int // 0 for delivered; else the reply code of the refusal
		wantBroken    bool
		wantMessages  int
	}{
		{name: "no PIPELINING: one command at a time", caps: []string{"8BITMIME"}, wantMessages: 1},
		{name: "PIPELINING", caps: []string{"8BITMIME", "PIPELINING"}, wantPipelined: true, wantMessages: 1},
		{name: "MAIL refused", caps: []string{"8BITMIME", "PIPELINING"}, wantPipelined: true,
			replies:  map[string]string{"MAIL": "451 4.3.0 try later", "RCPT": "503 5.5.1 no MAIL", "DATA": "503 5.5.1 no RCPT"},
			wantCode: 451},
		{name: "RCPT refused", caps: []string{"8BITMIME", "PIPELINING"}, wantPipelined: true,
			replies:  map[string]string{"RCPT": "550 5.1.1 no such user", "DATA": "554 5.5.1 no valid recipients"},
			wantCode: 550},
		{name: "DATA accepted after RCPT refused", caps: []string{"8BITMIME", "PIPELINING"}, wantPipelined: true,
			replies:  map[string]string{"RCPT": "550 5.1.1 no such user"},
			wantCode: 550, wantBroken: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScripted(t, tt.caps, tt.replies, true)
			cfg := smtpConfigPort(t, srv.port, "none", "", "")
			c := mustComposer(t, cfg)
			m, _, err := c.Digest(testEdition(cfg), Recipient{ID: 1, Email: "reader@example.com"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			conn := mustOpen(t, cfg)
			err = conn.Send(context.Background(), m)
			switch {
			case tt.wantCode == 0 && err != nil:
				t.Fatalf("Send: %v", err)
			case tt.wantCode != 0:
				if se := Classify(err); err == nil || se.Code != tt.wantCode {
					t.Fatalf("Send = %v, want the %d reply", err, tt.wantCode)
				}
				se := Classify(err)
				if se.Broken != tt.wantBroken {
					t.Errorf("Broken = %v, want %v", se.Broken, tt.wantBroken)
				}
				if !tt.wantBroken {
					// The transaction was reset: the connection takes the
					// next message (refused the same way by this script).
					if err := conn.Send(context.Background(), m); err == nil || Classify(err).Broken {
						t.Errorf("second Send = %v, want the same refusal on a live connection", err)
					}
				}
			}
			conn.Close()
			log := srv.log(t)
			if log.pipelined != tt.wantPipelined {
				t.Errorf("pipelined = %v, want %v (commands %v)", log.pipelined, tt.wantPipelined, log.commands)
			}
			if log.messages != tt.wantMessages {
				t.Errorf("server took %d messages, want %d (commands %v)", log.messages, tt.wantMessages, log.commands)
			}
			if !tt.wantBroken && tt.wantCode != 0 && !slices.Contains(log.commands, "RSET") {
				t.Errorf("no RSET after the refusal: %v", log.commands)
			}
		})
	}
}

// TestSMTPRefusals sends one message to servers that refuse a step of the
// transaction: the refusal is classified, the transaction reset, and the
// connection takes the next message.
func TestSMTPRefusals(t *testing.T) {
	tests := []struct {
		name       string
		replies    map[string]string
		wantCode   int // 0 for delivered; else the reply code of the refusal
		wantEnh    string
		wantBounce bool
		wantCmds   []string
	}{
		{name: "delivered", wantCmds: []string{"EHLO", "MAIL", "RCPT", "DATA", "QUIT"}},
		{name: "MAIL refused", replies: map[string]string{"MAIL": "451 4.3.0 try later"},
			wantCode: 451, wantEnh: "4.3.0", wantCmds: []string{"EHLO", "MAIL", "RSET", "MAIL", "RSET", "QUIT"}},
		{name: "RCPT refused", replies: map[string]string{"RCPT": "550 5.1.1 <reader@example.com> no such user"},
			wantCode: 550, wantEnh: "5.1.1", wantBounce: true,
			wantCmds: []string{"EHLO", "MAIL", "RCPT", "RSET", "MAIL", "RCPT", "RSET", "QUIT"}},
		{name: "DATA refused", replies: map[string]string{"DATA": "554 5.6.0 content rejected"},
			wantCode: 554, wantEnh: "5.6.0",
			wantCmds: []string{"EHLO", "MAIL", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "DATA", "RSET", "QUIT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScripted(t, []string{"8BITMIME", "ENHANCEDSTATUSCODES"}, tt.replies, false)
			cfg := smtpConfigPort(t, srv.port, "none", "", "")
			c := mustComposer(t, cfg)
			m, _, err := c.Digest(testEdition(cfg), Recipient{ID: 1, Email: "reader@example.com"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			conn := mustOpen(t, cfg)
			err = conn.Send(context.Background(), m)
			if tt.wantCode == 0 && err != nil {
				t.Fatalf("Send: %v", err)
			}
			if tt.wantCode != 0 {
				se := Classify(err)
				if err == nil || se.Code != tt.wantCode || se.Enhanced != tt.wantEnh || se.Bounce != tt.wantBounce || se.Broken {
					t.Fatalf("Send = %v, want the %d %s reply on a live connection (bounce %v)", err, tt.wantCode, tt.wantEnh, tt.wantBounce)
				}
				if strings.Contains(se.Reply, "@") {
					t.Errorf("Reply %q shows an address", se.Reply)
				}
				// The transaction was reset: the connection takes the
				// next message (refused the same way by this script).
				if err := conn.Send(context.Background(), m); err == nil || Classify(err).Broken {
					t.Errorf("second Send = %v, want the same refusal on a live connection", err)
				}
			}
			conn.Close()
			log := srv.log(t)
			if !slices.Equal(log.commands, tt.wantCmds) {
				t.Errorf("commands %v, want %v", log.commands, tt.wantCmds)
			}
			if want := map[bool]int{true: 1, false: 0}[tt.wantCode == 0]; log.messages != want {
				t.Errorf("server took %d messages, want %d", log.messages, want)
			}
		})
	}
}
