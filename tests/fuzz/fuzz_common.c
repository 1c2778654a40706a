/* SPDX-License-Identifier: MIT */
/* Fuzz harness support: the venue symbol table and a memfd helper (see fuzz_common.h). */
#include "fuzz_common.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The symbols of each venue's recordings (../shared/recordings, "# symbols:" headers); for the
 * venues without a recording, those of their unit tests. */
static const struct {
    const char *venue, *symbols;
} fz_syms[] = {
    {"binance", "BTCAUD,MANAUSDT,ETHBRL,DENTUSDT,ZILUSDT,RENBTCETH,BTCSTUSDT,QTUMETH,AXSBNB,"
                "NEOUSDC,BTCUSDT"},
    {"binance-futures", "BTCUSDT,ETHUSDT"},
    {"binance-delivery", "LINKUSD_211231,LINKUSD_PERP,TRXUSD_PERP,ETCUSD_PERP,BTCUSD_211231,"
                         "XRPUSD_PERP,EOSUSD_PERP,BCHUSD_PERP,BCHUSD_210924,ETHUSD_210924"},
    {"binance-us", "BTCUSD,ETHUSD"},
    {"bitfinex", "tBFTUSD,tIOTETH,tDOGUSD,tMNABTC,tODEUSD,tTESTBTC:TESTUSD,tSNGUSD"},
    {"bitget", "EOSUSDT,GOGUSDT,VVSUSDT,AVAXUSDT,CULTUSDT,HOTUSDT,SUNUSDT,STGUSDT"},
    {"bitget-futures", "BTCUSDT,ETHUSDT"},
    {"bitmex", "DOGEUSDT,XLMUSDT,ADAM21,ETHUSDM21,TRXM21,LINKUSDT,EOSUSDT,BCHM21,XBTM21,XBTU21"},
    {"bitstamp", "xlmeur,paxusd,xrpbtc,linketh,kncusd,knceur,xrppax,btcusdc,bcheur,ethgbp"},
    {"bybit", "BANDUSDT,RADUSDT,SNTUSDT,AIOZUSDT,BTCUSDT,DOGEUSDT,ETHUSDT,SOLUSDT,XRPUSDT"},
    {"bybit-spot", "BTCUSDT,ETHUSDT"},
    {"coinbase", "SKL-USD,SKL-BTC,BAND-GBP,NMR-EUR,BAND-BTC,YFI-BTC,DASH-BTC,NU-GBP,CRV-EUR,"
                 "SKL-GBP"},
    {"coinbase-advanced", "BTC-USD,ETH-USD"},
    {"crypto-com", "MATIC_USDT,HNT_USDT,LPT_USDC,GRT_CRO,HOT_USDT,BAND_USDT,SUSHI_USDT,RGT_USDC,"
                   "FLOW_CRO,ONE_USDT"},
    {"cryptofacilities", "fi_ethusd_211231,pi_xrpusd,pi_ltcusd,fi_bchusd_210730,pi_ethusd,"
                         "fi_xbtusd_210924,fi_ethusd_210730,fi_bchusd_210924,fi_xrpusd_210924,"
                         "fi_xbtusd_210730"},
    {"deribit", "BTC-24SEP21-8000-P,BTC-30JUL21-24000-P,ETH-30JUL21-2800-C,BTC-31DEC21-34000-P,"
                "BTC-24SEP21-34000-P,BTC-24JUN22-15000-C,BTC-31DEC21-300000-C,ETH-27AUG21-4000-P,"
                "BTC-25MAR22-30000-C,ETH-23JUL21-2300-C"},
    {"gate-io", "INK_USDT,HAI_ETH,BTC_USDC,NANO_USDT,QTUM3S_USDT,DIS_USDT,NEO_BTC,FAST_USDT,"
                "ZKS_ETH,OMG_USDT"},
    {"gate-io-futures", "BTC_USDT,ETH_USDT"},
    {"gemini", "SOLUSDCPERP,BTCUSDCPERP,BTCUSDT,SOLUSD,ETHUSDT,BTCGBP,ETHUSDCPERP,ETHUSD,BTCEUR,"
               "BTCUSD"},
    {"huobi", "trioeth,borusdt,omgbtc,xvgeth,yfihusd,zeneth,dogeeth,fil3susdt,propyeth,nesteth"},
    {"huobi-dm-swap", "BTC-USD,ETH-USD"},
    {"huobi-dm-linear-swap", "eth-usdt,btc-usdt"},
    {"kraken",
     "WAVES/EUR,XMR/USD,KSM/XBT,GRT/ETH,SC/EUR,ETH/CHF,OCEAN/XBT,OMG/USD,XBT/CHF,ADA/XBT"},
    {"kucoin", "BTC-USDT,ETH-USDT"},
    {"okex", "FUN-BTC,BTC-USD-210924-66000-C,XMR-USDT-SWAP,AUCTION-USDT,OKT-BTC,PAY-BTC,"
             "BTC-USD-210924-42000-P,ONT-USDT,DHT-USDT,TRX-USDT-210924,BTC-USD-220527,"
             "UNI-USD-SWAP,BTC-USDT"},
};

const char *fz_venue_symbols(const char *venue)
{
    const char *e = getenv("TG_FUZZ_SYMBOLS");
    if (e && *e)
        return e;
    for (size_t i = 0; i < sizeof(fz_syms) / sizeof(fz_syms[0]); i++)
        if (!strcmp(fz_syms[i].venue, venue))
            return fz_syms[i].symbols;
    return NULL;
}

int fz_memfd(const char *name, const void *data, size_t size)
{
    int fd = memfd_create(name, MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    const char *p = data;
    while (size) {
        ssize_t k = write(fd, p, size);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        p += k;
        size -= (size_t)k;
    }
    if (lseek(fd, 0, SEEK_SET) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}
