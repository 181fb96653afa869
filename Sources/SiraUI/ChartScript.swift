/// The browser side of the curves: one SVG line chart per metric key, a line per
/// (run, task, variant), redrawn when the live poll brings new points. Client-side because the
/// page must change without a reload; inline so no asset is fetched.
enum ChartScript {
    static let source = #"""
    const SIRA_COLOURS=["#1f77b4","#d62728","#2ca02c","#ff7f0e","#9467bd","#8c564b","#e377c2","#17becf","#7f7f7f","#bcbd22"];
    function siraEsc(s){return String(s).replace(/[&<>"']/g,c=>({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"})[c]);}
    function siraCharts(el, points, labelOf){
      const byKey=new Map();
      for(const p of points){ if(p.step===null||p.step===undefined) continue;
        const lab=labelOf(p); if(!byKey.has(p.key)) byKey.set(p.key,new Map());
        const m=byKey.get(p.key); if(!m.has(lab)) m.set(lab,[]); m.get(lab).push([p.step,p.value]); }
      let html="";
      for(const [key,lines] of [...byKey.entries()].sort()){
        const W=520,H=240,L=56,R=10,T=10,B=30; let xs=[],ys=[];
        for(const pts of lines.values()) for(const [x,y] of pts){ if(isFinite(y)){xs.push(x);ys.push(y);} }
        if(!xs.length) continue;
        const x0=Math.min(...xs),x1=Math.max(...xs)||1,y0=Math.min(...ys),y1=Math.max(...ys);
        const sx=x=>L+(x-x0)/((x1-x0)||1)*(W-L-R), sy=y=>H-B-(y-y0)/((y1-y0)||1)*(H-T-B);
        let svg=`<svg class="chart" width="${W}" height="${H+18*lines.size}" viewBox="0 0 ${W} ${H+18*lines.size}" data-key="${siraEsc(key)}">`;
        svg+=`<text x="${L}" y="${H-8}" font-size="11">${siraEsc(key)} · step ${x0}–${x1}</text>`;
        svg+=`<text x="4" y="${T+8}" font-size="11">${y1.toPrecision(4)}</text><text x="4" y="${H-B}" font-size="11">${y0.toPrecision(4)}</text>`;
        let i=0;
        for(const [lab,pts] of lines){ const c=SIRA_COLOURS[i%SIRA_COLOURS.length];
          pts.sort((a,b)=>a[0]-b[0]);
          svg+=`<polyline fill="none" stroke="${c}" stroke-width="1.5" points="${pts.filter(p=>isFinite(p[1])).map(p=>sx(p[0]).toFixed(1)+","+sy(p[1]).toFixed(1)).join(" ")}"/>`;
          svg+=`<text x="${L}" y="${H+14+18*i}" font-size="11" fill="${c}">${siraEsc(lab)} (${pts.length} pts)</text>`; i++; }
        html+=svg+"</svg>";
      }
      el.innerHTML=html||'<p class="muted">no stepped metrics yet</p>';
    }
    """#
}
