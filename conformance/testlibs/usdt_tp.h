#ifndef BPFTS_CONFORMANCE_USDT_TP_H
#define BPFTS_CONFORMANCE_USDT_TP_H
long myclock(void);
#endif
