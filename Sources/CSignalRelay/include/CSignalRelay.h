#ifndef CSIGNALRELAY_H
#define CSIGNALRELAY_H

// Signals turned into bytes on a pipe. The handler is installed with sigaction, which holds for
// every thread once it returns: a signal sent after lm_signal_relay_catch returns is never lost,
// whichever thread the kernel picks to take it. A dispatch signal source on Linux registers
// its handler later, on the event thread, and a signal in between meets SIG_IGN and is gone.

/// The pipe's read end, made at the first call. Each byte read is a signal number. -1 with
/// errno set when the pipe cannot be made.
int lm_signal_relay_descriptor(void);

/// Writes `signal_number` to the pipe whenever it arrives, from now on. 0, or an errno.
int lm_signal_relay_catch(int signal_number);

#endif
